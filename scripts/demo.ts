// `npm run demo`: the AWS emulator, a git repository made from the sample
// infrastructure, and stackd reconciling it: first the initial apply, then a
// commit that changes one tag.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { reconcile } from "../src/reconciler/index.ts";
import { renderText } from "../src/report/index.ts";
import { startEmulator } from "./lib/emulator.ts";
import { createSampleRepo } from "./lib/sample-repo.ts";
import { cloud } from "../test/support/aws.ts";

const say = (line: string) => process.stdout.write(`${line}\n`);

const emu = await startEmulator();
try {
  say(`AWS emulator on ${emu.endpoint}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stackd-demo-"));
  const repo = createSampleRepo(work);
  const dataDir = path.join(work, "data");
  say(`sample repository: ${repo.dir}\ndata dir: ${dataDir}\n`);
  const run = async (title: string) => {
    say(`== ${title}`);
    const started = Date.now();
    const report = await reconcile({ repo: repo.dir, dataDir, env: emu.env, onProgress: (l) => say(`   ${l}`) });
    say(renderText(report));
    say(`(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return report;
  };

  await run("stackd reconcile: first apply of every stack");
  const aws = cloud(emu);
  const buckets = await aws.s3.send(new ListBucketsCommand({}));
  const queues = await aws.sqs.send(new ListQueuesCommand({}));
  say(`buckets in the emulator: ${(buckets.Buckets ?? []).map((b) => b.Name).join(", ")}`);
  say(`queues in the emulator:  ${(queues.QueueUrls ?? []).map((u) => u.split("/").pop()).join(", ")}\n`);

  const dev = repo.read("stacks/Pulumi.dev.yaml");
  repo.commit({ "stacks/Pulumi.dev.yaml": dev.replace("dataClass: internal", "dataClass: confidential") }, "classify dev data");
  say('committed: dev bucket tag dataClass "internal" -> "confidential"');
  await run("stackd reconcile: only that tag changes");
  say(`dev bucket tags now: ${JSON.stringify(await aws.bucketTags("stackd-sample-dev-data"))}`);
} finally {
  await emu.stop();
}
