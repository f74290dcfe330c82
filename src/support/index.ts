export { StackdError, messageOf } from "./errors.ts";
export { defaultDataDir, cacheDir, installRoot } from "./paths.ts";
export { shortHash } from "./hash.ts";
