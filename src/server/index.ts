export { buildServer, type ServerOptions } from "./app.ts";
export { githubSignature } from "./webhooks.ts";
