export { reconcile, type ReconcileOptions } from "./reconcile.ts";
export { Controller, ApprovalError, type ServiceOptions, type Logger } from "./controller.ts";
export { affectedStacks } from "./affected.ts";
export { WorkQueue } from "./queue.ts";
export { previewChange, type PreviewChangeOptions } from "./preview-change.ts";
export { planPreview, type PreviewPlan } from "./preview-plan.ts";
