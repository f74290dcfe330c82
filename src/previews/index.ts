export { renderMarkdown, COMMENT_MARKER, DEFAULT_MAX_CHARS } from "./markdown.ts";
export { GitHubReporter, publishPreview, type GitHubSettings, type PullRequestRef } from "./github.ts";
