export { discoverStacks, type StackEntry } from "./discover.ts";
export { readYaml } from "./files.ts";
