export { Notifier, type Notification, type NotificationTarget, type NotificationEventName } from "./notifier.ts";
