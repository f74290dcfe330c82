// Turns an engine failure into one line a person can act on.
import path from "node:path";

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

const NOISE = [
  /^Running program .* failed with an unhandled exception:?$/,
  /^update failed$/,
  /^preview failed$/,
  /^an error occurred while running the program/i,
  /^at /,
  /^\s*$/,
];

function clean(text: string): string[] {
  return text
    .replace(ANSI, "")
    .split("\n")
    .map((l) => l.replace(/^\s*(error|Error):\s*/, "").trim())
    .filter((l) => !NOISE.some((re) => re.test(l)));
}

/**
 * Picks the line that names the cause from the engine's error diagnostics,
 * stderr and the program's own stderr: a TypeScript or Go compile error as
 * file:line:col, a YAML program error as file:line (from the repository
 * root, given the program's directory), else the first error message the
 * engine gave.
 */
export function summarizeFailure(diagnostics: string[], stderr: string, programDir = "", programStderr: string[] = []): string {
  const text = [...diagnostics, stderr, ...programStderr].join("\n").replace(ANSI, "");
  // Compilers and the YAML host name files relative to the program's directory; people know them from the repository root.
  const fromRoot = (file: string) => path.posix.join(programDir, file);
  const ts = /([\w./-]+\.tsx?)\((\d+),(\d+)\): error (TS\d+): ([^\n]+)/.exec(text);
  if (ts) return `${fromRoot(ts[1]!)}:${ts[2]}:${ts[3]}: TypeScript does not compile: ${ts[5]!.trim()} (${ts[4]})`;
  const go = /^(?:\.\/)?([\w./-]+\.go):(\d+):(\d+): ([^\n]+)/m.exec(text);
  if (go) return `${fromRoot(go[1]!)}:${go[2]}:${go[3]}: Go does not compile: ${go[4]!.trim()}`;
  const yaml = /(?:Error: )?([^\n]+)\n\s*on ([\w./-]+\.ya?ml) line (\d+):/.exec(text);
  if (yaml) return `${fromRoot(yaml[2]!)}:${yaml[3]}: ${yaml[1]!.replace(/^\s*(error|Error):\s*/, "").trim()}`;
  for (const source of [...diagnostics, stderr]) {
    const lines = clean(source).filter((l) => !/^(code|stdout|stderr|err\?):/.test(l) && !l.startsWith("CommandError"));
    const at = lines.findIndex((l) => !/^(TSError|Error): ?$/.test(l));
    if (at >= 0) {
      // "…from policy pack 'x':" and the like introduce the cause on the next line.
      const cause = lines[at]!.endsWith(":") ? lines.slice(at + 1).find((l) => !/^(TSError|Error): ?$/.test(l)) : undefined;
      return cause ? `${lines[at]} ${cause}` : lines[at]!;
    }
  }
  return "the Pulumi engine failed without saying why";
}
