/**
 * An error a person can act on: what went wrong, where (a file, a stack or a
 * repository), and what to do. `kind` decides the CLI's exit code.
 */
export class StackdError extends Error {
  readonly kind: "usage" | "config" | "runtime";
  readonly where?: string;

  constructor(message: string, opts: { kind?: StackdError["kind"]; where?: string; cause?: unknown } = {}) {
    super(opts.where ? `${opts.where}: ${message}` : message, { cause: opts.cause });
    this.name = "StackdError";
    this.kind = opts.kind ?? "runtime";
    this.where = opts.where;
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
