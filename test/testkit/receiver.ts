// A webhook receiver on loopback that records what it is sent.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Receiver {
  url: string;
  bodies: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      bodies.push(JSON.parse(data) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, stop: () => new Promise((r) => server.close(() => r())) };
}
