// Latency stackd adds to a run for its credentials: STS AssumeRole with the
// cache cold (a new session) and warm (cached credentials), on the emulator.
// Run: npm run bench:assume-role
import { performance } from "node:perf_hooks";
import { CredentialBroker } from "../src/credentials/index.ts";
import { startEmulator } from "../test/testkit/emulator.ts";
import { summarize } from "./lib.ts";

const SAMPLES = Number(process.env.SAMPLES ?? 20);
const emu = await startEmulator();
try {
  const broker = new CredentialBroker(emu.env);
  const roles = { roleArn: "arn:aws:iam::123456789012:role/deployer" };
  await broker.envFor("warmup/x", "0000000", roles, "apply");
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const revision = `${i}`.padStart(7, "a");
    let t0 = performance.now();
    await broker.envFor("app/prod", revision, roles, "apply");
    cold.push(performance.now() - t0);
    t0 = performance.now();
    await broker.envFor("app/prod", revision, roles, "apply");
    warm.push(performance.now() - t0);
  }
  console.log(summarize("AssumeRole per run, cache cold", cold));
  console.log(summarize("AssumeRole per run, cache warm", warm.map((x) => x * 1000), "µs"));
} finally {
  await emu.stop();
}
