export { reconcile, type ReconcileOptions } from "./reconcile.ts";
export { Controller, ApprovalError, type ServiceOptions, type Logger } from "./controller.ts";
export { affectedStacks } from "./affected.ts";
export { WorkQueue } from "./queue.ts";
