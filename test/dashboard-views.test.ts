// The dashboard's pages as HTML, without a browser: what each shows from a run or stack.
import { html } from "htm/preact";
import { render } from "preact-render-to-string";
import { describe, expect, it } from "vitest";
import type { RunWithLog, StackStatus } from "../src/ledger/index.ts";
import { RunPage, commitLinks } from "../src/server/dashboard/views/run.ts";
import { StackPage, roleName } from "../src/server/dashboard/views/stack.ts";
import { defaultSettings, settingsFor } from "../src/catalog/index.ts";

const SHA = "4f2a9c1e0b7d3a5c6e8f90123456789abcdef012";
const admin = { name: "owner", role: "admin" as const };

const run = (o: Partial<RunWithLog> = {}): RunWithLog => ({
  id: "run_a1",
  stack: "infra/dev",
  revision: SHA,
  kind: "preview",
  trigger: "webhook",
  status: "awaiting_approval",
  createdAt: "2026-11-24T00:00:00.000Z",
  startedAt: "2026-11-24T00:00:01.000Z",
  finishedAt: "2026-11-24T00:00:09.500Z",
  changes: { create: 0, update: 1, replace: 0, delete: 0, same: 2 },
  resources: [
    {
      urn: "urn:pulumi:dev::infra::aws:ssm/parameter:Parameter::api-key",
      type: "aws:ssm/parameter:Parameter",
      op: "update",
      properties: ["value", "tier"],
      diff: [
        { path: "value", old: "[secret]", new: "[secret]" },
        { path: "tier", old: "Standard", new: "Advanced" },
      ],
    },
  ],
  policy: [{ pack: "guard", policy: "no-public", enforcement: "advisory", message: "parameters should be private" }],
  error: null,
  stateVersion: 3,
  approvalOf: null,
  runtime: "nodejs",
  plugins: [],
  requestedBy: null,
  approvedBy: null,
  planDigest: "ab".repeat(32),
  checkpoint: "cd".repeat(32),
  replica: null,
  cascadeOf: null,
  log: "Previewing update (dev):\n",
  ...o,
});

describe("a run page", () => {
  it("links the revision to its commit when the repository is on GitHub, in either URL form", () => {
    for (const repo of ["https://github.com/acme/infra.git", "git@github.com:acme/infra.git", "https://***@github.com/acme/infra"]) {
      expect(render(html`<${RunPage} run=${run()} principal=${admin} commitUrl=${commitLinks(repo)} />`)).toContain(`href="https://github.com/acme/infra/commit/${SHA}"`);
    }
    expect(render(html`<${RunPage} run=${run()} principal=${admin} commitUrl=${commitLinks("git://127.0.0.1:9418/infra.git")} />`)).not.toContain("/commit/");
  });

  it("shows each property's old → new, secrets as [secret], the digest, the policy results and the buttons for the role", () => {
    const page = render(html`<${RunPage} run=${run()} principal=${admin} commitUrl=${commitLinks("")} />`);
    expect(page).toContain("<code>tier</code>: <del>&quot;Standard&quot;</del> → <ins>&quot;Advanced&quot;</ins>");
    expect(page).toContain("<code>value</code>: <del>[secret]</del> → <ins>[secret]</ins>");
    expect(page).toContain(`sha256:${"ab".repeat(32)}`);
    expect(page).toContain("parameters should be private");
    expect(page.match(/<button[^>]*>(Approve|Reject)<\/button>/g)).toEqual(['<button type="submit">Approve</button>', '<button type="submit" class="danger">Reject</button>']);
    const reader = render(html`<${RunPage} run=${run()} principal=${{ name: "viewer", role: "read" }} commitUrl=${commitLinks("")} />`);
    expect(reader).not.toContain("<button");
    // A running run streams its log; a finished one shows what the ledger kept.
    expect(render(html`<${RunPage} run=${run({ status: "running", finishedAt: null })} principal=${admin} commitUrl=${commitLinks("")} />`)).toContain('data-log-src="/ui/runs/run_a1/log"');
    expect(page).toContain("Previewing update (dev):");
  });
});

describe("a stack page", () => {
  it("names roles by name only, never the account", () => {
    expect(roleName("arn:aws:iam::123456789012:role/deploy/stackd-deployer")).toBe("stackd-deployer");
    const settings = settingsFor(
      { ...defaultSettings(), stacks: { "*/dev": { roles: { roleArn: "arn:aws:iam::123456789012:role/deployer" }, dependsOn: ["infra/network"] } } },
      "infra",
      "dev",
    );
    const status: StackStatus = {
      name: "infra/dev",
      project: "infra",
      stack: "dev",
      applyMode: "auto",
      appliedRevision: SHA,
      headRevision: SHA,
      sync: "Synced",
      lastResult: "succeeded",
      failures: 0,
      retryAt: null,
      conditions: ["Ready"],
      health: "InSync",
      reason: null,
      message: null,
      lastDriftCheck: null,
      lastRun: null,
    };
    const page = render(html`<${StackPage} status=${status} settings=${settings} runs=${[]} page=${1} more=${false} drift=${[]} principal=${admin} />`);
    expect(page).toContain("<dd>deployer</dd>");
    expect(page).not.toContain("123456789012");
    expect(page).toContain("infra/network");
    expect(page.match(/<button[^>]*>[^<]+<\/button>/g)).toEqual(['<button type="submit">Reconcile now</button>', '<button type="submit">Check drift now</button>']);
  });
});
