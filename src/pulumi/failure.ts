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
 * Picks the line that names the cause from the engine's error diagnostics and
 * stderr: a TypeScript compile error as file:line:col (from the repository
 * root, given the program's directory), else the first error
 * message the engine gave.
 */
export function summarizeFailure(diagnostics: string[], stderr: string, programDir = ""): string {
  const text = [...diagnostics, stderr].join("\n").replace(ANSI, "");
  const ts = /([\w./-]+\.tsx?)\((\d+),(\d+)\): error (TS\d+): ([^\n]+)/.exec(text);
  if (ts) {
    // The compiler names files relative to the program's directory; people know them from the repository root.
    const file = path.posix.join(programDir, ts[1]!);
    return `${file}:${ts[2]}:${ts[3]}: TypeScript does not compile: ${ts[5]!.trim()} (${ts[4]})`;
  }
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
