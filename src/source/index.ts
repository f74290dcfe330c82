export { GitSource } from "./git.ts";
