export * from "./roles.ts";
export * from "./tokens.ts";
export * from "./limiter.ts";
export * from "./sessions.ts";
