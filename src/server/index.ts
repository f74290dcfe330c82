// The HTTP face of the service.
export { buildServer, type ServerOptions } from "./app.ts";
export { githubSignature } from "./webhook-payloads.ts";
export { dashboardBuilt } from "./dashboard/index.ts";
