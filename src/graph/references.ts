/**
 * The stack stackd manages that a StackReference name points at, or null.
 * Pulumi names another project's stack `<org>/<project>/<stack>` (on a file
 * or S3 backend the organization is `organization`); `<project>/<stack>` and
 * a bare `<stack>` (the reader's own project) are accepted as well. The
 * organization is not checked: stackd manages the stacks of one backend.
 */
export function resolveReference(reference: string, reader: { project: string }, managed: Set<string>): string | null {
  const parts = reference.split("/");
  const candidates =
    parts.length === 3 ? [`${parts[1]}/${parts[2]}`] : parts.length === 2 ? [reference, `${reader.project}/${parts[1]}`] : parts.length === 1 ? [`${reader.project}/${reference}`] : [];
  return candidates.find((c) => managed.has(c)) ?? null;
}
