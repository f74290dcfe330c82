import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { mask, registerSecret } from "../src/support/index.ts";
import { GitSource } from "../src/source/index.ts";

describe("mask", () => {
  it("replaces every registered secret, and ignores values too short to be secrets", () => {
    registerSecret("hunter2-canary-value");
    registerSecret("abc");
    expect(mask("token=hunter2-canary-value; again hunter2-canary-value; abc")).toBe("token=[secret]; again [secret]; abc");
  });

  it("takes a token out of a repository URL: shown as ***, registered as a secret, never in an error", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-mask-"));
    const source = new GitSource("https://x-access-token:ghs_canaryToken123@127.0.0.1:1/team/infra.git", dataDir);
    const err = await source.fetch().then(
      () => "fetched?!",
      (e: Error) => e.message,
    );
    expect(err).toContain("repository https://***@127.0.0.1:1/team/infra.git");
    expect(err).not.toContain("ghs_canaryToken123");
    expect(source.repo).toBe("https://***@127.0.0.1:1/team/infra.git");
    expect(mask("leaked ghs_canaryToken123")).toBe("leaked [secret]");
  });
});
