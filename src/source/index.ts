export { GitSource } from "./git.ts";
export type { RepoCredentialOptions } from "./credentials.ts";
