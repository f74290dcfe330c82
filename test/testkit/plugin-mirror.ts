// A plugin mirror on loopback: a flat directory of plugin tarballs served
// over HTTP the way Pulumi's release hosts serve them, recording every
// request. The tarballs are the real providers `npm run setup` builds.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { cacheDir } from "../../src/support/index.ts";

export interface PluginMirror {
  url: string;
  /** Every path asked for, in order, with the status it got. */
  requests: { path: string; status: number }[];
  /** How many times a tarball was served. */
  served(file: string): number;
  stop(): Promise<void>;
}

/** The directory of real plugin tarballs (random v4.18.2, tls v5.2.0) setup built. */
export function testPluginTarballs(): string {
  const dir = path.join(cacheDir(), "test-plugins");
  if (!fs.existsSync(dir)) throw new Error(`no plugin tarballs in ${dir}: run \`npm run setup\``);
  return dir;
}

export async function startPluginMirror(dir: string): Promise<PluginMirror> {
  const requests: PluginMirror["requests"] = [];
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? "/", "http://mirror").pathname.slice(1));
    const file = path.join(dir, name);
    const ok = req.method === "GET" && name !== "" && !name.includes("/") && fs.existsSync(file);
    requests.push({ path: `/${name}`, status: ok ? 200 : 404 });
    if (!ok) return res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": "application/gzip", "content-length": fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    served: (file) => requests.filter((r) => r.path === `/${file}` && r.status === 200).length,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
