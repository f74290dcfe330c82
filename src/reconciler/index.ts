export { reconcile, type ReconcileOptions } from "./reconcile.ts";
