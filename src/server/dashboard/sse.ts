import type { FastifyReply, FastifyRequest } from "fastify";
import { mask } from "../../support/index.ts";

/** An open server-sent events stream to one browser. */
export interface EventStream {
  /** Sends one event; its data is masked like every other response. */
  send(event: string, data: string): void;
  close(): void;
  /** Called once when the stream ends, from either side. */
  onClose(fn: () => void): void;
}

/** Keeps proxies and the browser from taking a quiet stream for a dead one. */
const HEARTBEAT_MS = 20_000;

/** Turns a request into an event stream: the reply is the stream's from here on. */
export function openEventStream(req: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
    connection: "keep-alive",
  });
  // The browser reconnects after 3 s when the stream breaks.
  res.write("retry: 3000\n\n");
  const closers: (() => void)[] = [];
  let closed = false;
  const heartbeat = setInterval(() => res.write(": ping\n\n"), HEARTBEAT_MS);
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const fn of closers) fn();
    res.end();
  };
  req.raw.on("close", end);
  return {
    send(event, data) {
      if (closed) return;
      const lines = mask(data).split("\n").map((l) => `data: ${l}`).join("\n");
      res.write(`event: ${event}\n${lines}\n\n`);
    },
    close: end,
    onClose: (fn) => closers.push(fn),
  };
}
