// The only place that talks to the Pulumi Automation API.
export { loadToolchain, engineEnv, languageHosts, findLanguageHost, ENGINE_FLAGS, type Toolchain } from "./toolchain.ts";
export { runOperation, recoverStack, removeStack, stackExists, stackOutputs, stateCheckpoint, type StackTarget, type OperationResult, type Operation, type OperationOptions } from "./operations.ts";
export { fileDigest, planDifference, planViolation } from "./plans.ts";
export { PlanRecorder, changedPaths } from "./events.ts";
export { summarizeFailure } from "./failure.ts";
export { resolveBackend, type BackendSettings } from "./backend.ts";
export { requiredPlugins, installPlugin, engineErrorLine, type PluginRef } from "./plugin-commands.ts";
export { endAbandonedGroups } from "./process-groups.ts";
