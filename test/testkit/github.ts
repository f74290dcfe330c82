// GitHub's API cannot be reached from here: this stand-in answers the calls
// stackd makes and records them as GitHub would receive them.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown> | null;
}

export interface FakeGitHub {
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const comments = new Map<string, { id: number; body: string }[]>();
  let nextId = 1000;
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
      requests.push({ method: req.method ?? "", path: url.pathname, authorization: req.headers.authorization, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      let m: RegExpExecArray | null;
      if (req.method === "POST" && (m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/.exec(url.pathname))) {
        return send(201, { id: nextId++, head_sha: body?.head_sha, status: body?.status, conclusion: body?.conclusion });
      }
      if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname))) {
        const key = `${m[1]}/${m[2]}#${m[3]}`;
        const list = comments.get(key) ?? [];
        if (req.method === "GET") return send(200, list);
        const c = { id: nextId++, body: String(body?.body ?? "") };
        comments.set(key, [...list, c]);
        return send(201, c);
      }
      if (req.method === "PATCH" && (m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname))) {
        for (const list of comments.values()) {
          const c = list.find((x) => x.id === Number(m![3]));
          if (c) {
            c.body = String(body?.body ?? "");
            return send(200, c);
          }
        }
        return send(404, { message: "Not Found" });
      }
      send(404, { message: "Not Found" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, stop: () => new Promise((r) => server.close(() => r())) };
}
