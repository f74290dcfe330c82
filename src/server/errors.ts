import type { FastifyReply } from "fastify";
import { z } from "zod";
import { StackdError, mask, messageOf, type ErrorKind } from "../support/index.ts";

/** The one mapping from what went wrong to the HTTP status that says so. */
const STATUS: Record<ErrorKind, number> = { usage: 400, config: 409, "not-found": 404, conflict: 409, auth: 401, forbidden: 403, throttled: 429, runtime: 500 };

/** An error body, masked like every response. */
export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ error: mask(message) });
}

/** The status and message of anything a route threw: stackd's errors by kind, fastify's by their own status. */
export function httpError(err: unknown, bodyLimit: number): { status: number; message: string } {
  if (err instanceof StackdError) return { status: STATUS[err.kind], message: err.message };
  const status = (err as { statusCode?: number }).statusCode ?? 500;
  if (status === 413) return { status, message: `body too large (limit ${bodyLimit} bytes)` };
  return { status, message: messageOf(err) };
}

/** One line naming each field zod refused. */
export function zodReason(e: z.ZodError, what = "body"): string {
  return e.issues.map((i) => `${i.path.join(".") || what}: ${i.message}`).join("; ");
}

/** Parses a query string with its schema, or throws a usage error naming the bad parameters. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const q = schema.safeParse(query);
  if (!q.success) throw new StackdError(zodReason(q.error, "query"), { kind: "usage" });
  return q.data;
}

/** Parses a JSON request body (kept raw by the server) with its schema, or throws a usage error naming what is wrong. */
export function parseBody<T>(schema: z.ZodType<T>, raw: Buffer | undefined): T {
  let value: unknown;
  try {
    value = JSON.parse(raw?.toString("utf8") || "null");
  } catch (err) {
    throw new StackdError(`body: not JSON (${messageOf(err)})`, { kind: "usage" });
  }
  const b = schema.safeParse(value);
  if (!b.success) throw new StackdError(zodReason(b.error), { kind: "usage" });
  return b.data;
}
