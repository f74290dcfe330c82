export * from "./schema.ts";
export { renderText } from "./text.ts";
