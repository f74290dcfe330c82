export { reconcile, type ReconcileOptions } from "./reconcile.ts";
export { Controller, type ServiceOptions } from "./controller.ts";
export type { Logger } from "./logger.ts";
export type { PullRequest } from "./pull-requests.ts";
export { affectedStacks } from "./affected.ts";
export { WorkQueue } from "./queue.ts";
export { previewChange, type PreviewChangeOptions } from "./preview-change.ts";
export { planPreview, type PreviewPlan } from "./preview-plan.ts";
export { collectGarbage, revisionsInUse, type GcReport } from "./garbage.ts";
