// What a change to one stack's config costs in a repository of many stacks
// (default 100, of one project with one in-process resource): once all are applied, one
// stack's config file changes, and we count the runs stackd creates for that
// revision, the stacks they touch, and the engine runs they start (the
// previews and updates whose headers appear in the runs' logs). Only the
// changed stack should run.
// Run: node bench/affected.ts    (STACKS=5 node bench/affected.ts for a quick trial)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Run } from "../src/ledger/index.ts";
import { installRoot } from "../src/support/index.ts";
import { settled, startService, waitFor } from "../test/testkit/service.ts";

const STACKS = Number(process.env.STACKS ?? 100);
const stackFile = (i: number) => `fleet/stacks/Pulumi.s${String(i).padStart(3, "0")}.yaml`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

// A local repository: the Controller fetches a path as well as a URL, and commits land without a push.
const work = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-affected-"));
const repo = path.join(work, "repo");
const write = (file: string, content: string) => {
  fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  fs.writeFileSync(path.join(repo, file), content);
};
const git = (...a: string[]) => execFileSync("git", ["-c", "user.email=b@example.com", "-c", "user.name=bench", ...a], { cwd: repo, encoding: "utf8" }).trim();
// drift "off": scheduled checks would add runs that have nothing to do with the change.
write("stackd.yaml", 'stacks:\n  "*":\n    drift: "off"\n');
write("fleet/Pulumi.yaml", "name: fleet\nruntime: nodejs\nmain: index.js\nstackConfigDir: stacks\n");
// One dynamic resource holding the stack's config value: no cloud, no plugin to fetch, yet a
// config change is a real update.
write(
  "fleet/index.js",
  `import * as pulumi from "@pulumi/pulumi";
const provider = {
  async create(inputs) { return { id: "value", outs: inputs }; },
  async diff(id, olds, news) { return { changes: olds.n !== news.n }; },
  async update(id, olds, news) { return { outs: news }; },
};
new pulumi.dynamic.Resource(provider, "value", { n: new pulumi.Config().require("n") });
`,
);
// The program needs @pulumi/pulumi: stackd's own lockfile, whose install is already cached.
for (const f of ["package.json", "package-lock.json"]) fs.copyFileSync(path.join(installRoot, f), path.join(repo, "fleet", f));
// Each stack has a value of its own, so the change below is to one file the others do not share.
for (let i = 0; i < STACKS; i++) write(stackFile(i), `config:\n  fleet:n: "${i}"\n`);
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-qm", "fleet");

const t0 = Date.now();
const svc = await startService({ repo, dataDir: path.join(work, "data"), env: {} });
try {
  const finished = (r: Run) => r.status !== "queued" && r.status !== "running";
  await waitFor("the first applies", () => svc.runs().length >= STACKS && svc.runs().every(finished), 1_800_000);
  await settled(svc);
  const applied = svc.runs().filter((r) => r.status === "succeeded").length;
  console.log(`${STACKS} stacks: ${applied} applied in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const before = new Set(svc.runs().map((r) => r.id));
  write(stackFile(0), 'config:\n  fleet:n: "changed"\n');
  git("commit", "-qam", "one stack's config");
  const revision = git("rev-parse", "HEAD");
  await svc.controller.sync("api");
  await waitFor("a finished run at the new revision", () => svc.runs().some((r) => r.revision === revision && finished(r)), 600_000);
  await settled(svc);

  // Every run created since the commit, whatever its revision: a stray one would be part of the cost too.
  const created = svc.runs().filter((r) => !before.has(r.id));
  const atRevision = created.filter((r) => r.revision === revision);
  const kinds = new Map<string, number>();
  for (const r of atRevision) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
  const byKind = [...kinds].map(([kind, n]) => (atRevision.length === 1 ? kind : `${n} ${kind}`)).join(", ");
  const stacks = new Set(created.map((r) => r.stack)).size;
  const logs = created.map((r) => svc.ledger.runs.get(r.id)?.log ?? "");
  const count = (header: string) => logs.reduce((n, log) => n + log.split(header).length - 1, 0);
  const elsewhere = created.length - atRevision.length;
  console.log(
    `1-of-${STACKS} change: ${plural(atRevision.length, "run")}${byKind ? ` (${byKind})` : ""}` +
      `${elsewhere ? ` + ${plural(elsewhere, "run")} at other revisions` : ""} for ${plural(stacks, "stack")}; ` +
      // An auto stack's up previews first in its own engine process: its log holds both headers.
      `engine runs started: ${count("Updating (")} up + ${Math.max(0, count("Previewing update (") - count("Updating ("))} preview on its own`,
  );
} finally {
  await svc.stop();
}
