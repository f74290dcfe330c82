// A secret set in a stack's config the way a person sets one: `pulumi stack
// init` and `pulumi config set --secret` with the engine, in the backend of
// stackd's data dir, then committed.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { engineEnv, loadToolchain, resolveBackend } from "../../src/pulumi/index.ts";
import type { SampleRepo } from "./sample-repo.ts";

/** Sets `sample-infra:<key>` as a secret of `stack` and commits the stack file. */
export async function commitStackSecret(repo: SampleRepo, dataDir: string, stack: string, key: string, value: string): Promise<void> {
  const tc = await loadToolchain();
  const b = resolveBackend(dataDir);
  const run = (...args: string[]) =>
    execFileSync(path.join(tc.binDir, "pulumi"), args, {
      cwd: repo.dir,
      env: { ...process.env, ...engineEnv(tc, { PULUMI_BACKEND_URL: b.backendUrl, PULUMI_CONFIG_PASSPHRASE: b.passphrase, PULUMI_HOME: b.pulumiHome }) },
      stdio: "ignore",
    });
  run("stack", "init", stack);
  run("config", "set", "--secret", "--stack", stack, `sample-infra:${key}`, value);
  repo.git("add", "-A");
  repo.git("commit", "-qm", `${stack} ${key}`);
}
