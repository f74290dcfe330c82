// The engine's own plugin machinery, through the CLI: which plugins a
// program needs (asked of its language host) and installing one into a
// plugin home, from a tarball or from the sources the engine knows.
import { execFile } from "node:child_process";
import path from "node:path";
import { z } from "zod";
import { StackdError } from "../support/index.ts";
import { engineEnv, loadToolchain } from "./toolchain.ts";

/** A plugin the engine knows by kind, name and version (null: the program leaves it open). */
export interface PluginRef {
  kind: string;
  name: string;
  version: string | null;
}

const AboutSchema = z.looseObject({
  plugins: z
    .array(z.looseObject({ name: z.string(), kind: z.string(), version: z.string().nullish() }))
    .nullish(),
  errors: z.array(z.string()).nullish(),
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function pulumi(args: string[], opts: { cwd?: string; env: Record<string, string>; signal?: AbortSignal; timeoutMs?: number }): Promise<CliResult> {
  const tc = await loadToolchain();
  return new Promise((resolve) => {
    execFile(
      path.join(tc.binDir, "pulumi"),
      [...args, "--non-interactive"],
      {
        cwd: opts.cwd,
        env: { ...process.env, ...engineEnv(tc, opts.env) },
        signal: opts.signal,
        timeout: opts.timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code !== 0 ? err.message : "") });
      },
    );
  });
}

/** The engine's last error line, without its "error:" prefix. */
export function engineErrorLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const error = [...lines].reverse().find((l) => /^error:/i.test(l)) ?? lines.at(-1) ?? "failed without a message";
  return error.replace(/^error:\s*/i, "");
}

/**
 * The plugins a project's program needs, as its language host reports them
 * (`pulumi about`), after its dependencies are installed. The language
 * plugin itself is left out: it runs from beside the CLI.
 */
export async function requiredPlugins(workDir: string, env: Record<string, string>, signal?: AbortSignal): Promise<PluginRef[]> {
  const res = await pulumi(["about", "--json"], { cwd: workDir, env, signal, timeoutMs: 10 * 60_000 });
  let parsed: z.infer<typeof AboutSchema>;
  try {
    parsed = AboutSchema.parse(JSON.parse(res.stdout));
  } catch {
    throw new StackdError(`could not ask the language host which plugins the program needs: ${engineErrorLine(res.stderr)}`);
  }
  if (!parsed.plugins) {
    // `about` reports a language host failure among its errors and leaves plugins out.
    const why = (parsed.errors ?? []).find((e) => /language plugin|plugin requirements|plugin info/i.test(e));
    if (why) throw new StackdError(why);
    return [];
  }
  return parsed.plugins
    .filter((p) => p.kind !== "language")
    .map((p) => ({ kind: p.kind, name: p.name, version: p.version ? p.version.replace(/^v/, "") : null }));
}

/**
 * Installs one plugin into `home` with `pulumi plugin install`: from a
 * tarball when `file` is given, else from the sources the environment
 * names (a mirror through PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES, or Pulumi's
 * release hosts). Returns the engine's output on failure: its warnings say
 * why each download attempt failed.
 */
export async function installPlugin(
  ref: PluginRef,
  home: string,
  opts: { file?: string; env: Record<string, string>; signal?: AbortSignal },
): Promise<{ ok: true } | { ok: false; error: string }> {
  const args = ["plugin", "install", ref.kind, ref.name];
  if (ref.version) args.push(ref.version);
  if (opts.file) args.push("--file", opts.file);
  // A plugin named by kind, name and version needs no registry lookup (which would ask the internet first).
  const env = { ...opts.env, PULUMI_HOME: home, PULUMI_DISABLE_REGISTRY_RESOLVE: "true" };
  const res = await pulumi(args, { env, signal: opts.signal, timeoutMs: 10 * 60_000 });
  return res.code === 0 ? { ok: true } : { ok: false, error: `${res.stderr}\n${res.stdout}` };
}
