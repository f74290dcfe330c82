export { packsFor, preparePacks, DEFAULT_PACK_DIR, type PreparedPacks } from "./packs.ts";
