export { GitSource } from "./git.ts";
export type { RepoCredentialOptions } from "./credentials.ts";
export type { RunCheckout } from "./run-checkouts.ts";
