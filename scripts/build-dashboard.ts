// Builds the dashboard's browser files into dist/dashboard: its script
// (TypeScript, transpiled) and its stylesheet. Nothing built is committed;
// `npm run setup` runs this, and skips it when the inputs did not change.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
// Only the path: the dashboard module itself would load the whole service.
import { ASSETS_DIR } from "../src/server/dashboard/assets.ts";

const SOURCE = path.join(import.meta.dirname, "..", "src", "server", "dashboard", "client");
const inputs = fs.readdirSync(SOURCE).filter((f) => /\.(ts|css)$/.test(f)).sort();
const key = createHash("sha256");
key.update(ts.version);
for (const f of inputs) key.update(f).update(fs.readFileSync(path.join(SOURCE, f)));
const digest = key.digest("hex");
const stamp = path.join(ASSETS_DIR, ".inputs");

if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === digest) process.exit(0);
const tmp = `${ASSETS_DIR}.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(tmp, { recursive: true });
for (const f of inputs) {
  const text = fs.readFileSync(path.join(SOURCE, f), "utf8");
  if (f.endsWith(".css")) {
    fs.writeFileSync(path.join(tmp, f), text);
    continue;
  }
  const out = ts.transpileModule(text, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, removeComments: true }, fileName: f });
  fs.writeFileSync(path.join(tmp, f.replace(/\.ts$/, ".js")), out.outputText);
}
fs.writeFileSync(path.join(tmp, ".inputs"), digest);
fs.rmSync(ASSETS_DIR, { recursive: true, force: true });
fs.renameSync(tmp, ASSETS_DIR);
console.error(`setup: built the dashboard (${inputs.length} files) into ${path.relative(process.cwd(), ASSETS_DIR) || ASSETS_DIR}`);
