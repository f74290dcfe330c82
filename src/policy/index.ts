export { packsFor, packDirsFor, preparePacks, DEFAULT_PACK_DIR, type PreparedPacks } from "./packs.ts";
