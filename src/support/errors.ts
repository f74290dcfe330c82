/**
 * What kind of trouble an error is: a wrong request (usage), a setting or
 * file to fix (config), a thing that does not exist (not-found), a request
 * that no longer fits the state (conflict), a caller without the right
 * credentials (auth) or with too low a role (forbidden), a caller that
 * failed too often (throttled), or a failure while working (runtime). The CLI's exit
 * code and the API's HTTP status both follow from it.
 */
export type ErrorKind = "usage" | "config" | "not-found" | "conflict" | "auth" | "forbidden" | "throttled" | "runtime";

/**
 * An error a person can act on: what went wrong, where (a file, a stack or a
 * repository), and what to do.
 */
export class StackdError extends Error {
  readonly kind: ErrorKind;
  readonly where?: string;

  constructor(message: string, opts: { kind?: StackdError["kind"]; where?: string; cause?: unknown } = {}) {
    super(opts.where ? `${opts.where}: ${message}` : message, { cause: opts.cause });
    this.name = "StackdError";
    this.kind = opts.kind ?? "runtime";
    this.where = opts.where;
  }
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
