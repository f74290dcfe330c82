// Drift: when stacks are checked (schedules) and what a check means (episodes).
export { DriftScheduler, type Tick } from "./scheduler.ts";
export { recordDriftCheck } from "./episodes.ts";
