export { discoverStacks, type StackEntry } from "./discover.ts";
export { readYaml, ProjectRuntimeSchema } from "./files.ts";
export { NotificationEvents, DEFAULT_DRIFT_SCHEDULE } from "./settings.ts";
export { loadSettings, settingsFor, defaultSettings, SETTINGS_FILE, DEFAULT_TIMEOUTS, type Timeouts, type Settings, type StackSettings, type PolicyPackSetting, type RoleSettings } from "./settings.ts";
