export { GitSource } from "./git.ts";
export { credentialOptionsFromEnv, redactUrl, repoAccess, type RepoCredentialOptions } from "./credentials.ts";
