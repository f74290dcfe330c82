export { DriftScheduler } from "./scheduler.ts";
