import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/** The fields of a GitHub push event stackd uses. */
export const GithubPushSchema = z.looseObject({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}$/, "must be a commit sha"),
});

/** The fields of a GitHub pull_request event stackd uses. A deleted fork has no head repo. */
export const GithubPullRequestSchema = z.looseObject({
  action: z.string(),
  number: z.number().int().positive(),
  pull_request: z.looseObject({
    head: z.looseObject({ sha: z.string().regex(/^[0-9a-f]{40}$/, "must be a commit sha"), ref: z.string(), repo: z.looseObject({ full_name: z.string() }).nullable() }),
    base: z.looseObject({ ref: z.string(), repo: z.looseObject({ full_name: z.string() }) }),
  }),
  repository: z.looseObject({ full_name: z.string() }),
});

/** The generic webhook: any system that can POST after a push. Both fields optional. */
export const GitPushSchema = z
  .looseObject({
    ref: z.string().min(1).optional(),
    revision: z.string().regex(/^[0-9a-f]{7,40}$/, "must be a commit sha").optional(),
  })
  .nullable();

/**
 * Equality in constant time, lengths included: both sides are hashed first,
 * so the comparison always runs over 32 bytes and a wrong length takes as
 * long to refuse as a wrong byte.
 */
function safeEqual(a: string, b: string): boolean {
  const digest = (v: string) => createHash("sha256").update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** GitHub's X-Hub-Signature-256: "sha256=" + HMAC-SHA256 of the raw body. */
export function validGithubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return safeEqual(expected, header);
}

/** Whether a header carries the shared secret (constant-time). */
export function validSharedSecret(secret: string, header: string | undefined): boolean {
  return !!header && safeEqual(secret, header);
}

/** The X-Hub-Signature-256 GitHub would send for a body. */
export function githubSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
