export { StackdError, messageOf, type ErrorKind } from "./errors.ts";
export { defaultDataDir, cacheDir, installRoot, pulumiHomeDir, dirSize, privateDir } from "./paths.ts";
export { shortHash } from "./hash.ts";
export { withFileLock, singleFlight } from "./lock.ts";
export { mask, registerSecret } from "./mask.ts";
export { newId } from "./ids.ts";
export { durationMs, formatDuration, DURATION_PATTERN } from "./durations.ts";
