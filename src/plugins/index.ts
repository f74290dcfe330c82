// The shared provider plugin cache: what a program needs, from which source, once.
export { pulumiHomeDir as pluginHome } from "../support/index.ts";
export { listPlugins, tarballName, type CachedPlugin } from "./cache.ts";
export { pluginSources, pluginEnv, type PluginSource, type PluginSettings } from "./sources.ts";
export { ensurePlugins, installFromDir, type UsedPlugin } from "./installer.ts";
