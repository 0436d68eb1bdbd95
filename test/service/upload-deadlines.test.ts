/**
 * Uploads and requests have deadlines: a client that sends one byte and stalls is cut after the
 * idle deadline, one that trickles after the total deadline, and uploads beyond the concurrency
 * cap are refused (429). Runs a real local server (createServiceApp + listen).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServiceApp, type UploadLimits } from "../../src/service/http.js";
import { DEFAULT_CAPS } from "../../src/service/job.js";
import { Metrics } from "../../src/service/metrics.js";
import type { ScanQueue } from "../../src/service/types.js";

const TOKEN = "test-token-deadlines-0123456789";
let dir: string;
let uploadDir: string;
const apps: FastifyInstance[] = [];
const sockets: Socket[] = [];

const queue: ScanQueue = {
  submit: () => Promise.resolve({ id: "job-1", duplicate: false }),
  status: () => Promise.resolve(undefined),
  result: () => Promise.resolve(undefined),
  counts: () => Promise.resolve({ queued: 0, running: 0, completed: 0, failed: 0 }),
  events: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }) }),
  close: () => Promise.resolve(),
};

async function serve(limits: Partial<UploadLimits>): Promise<number> {
  const app = createServiceApp({
    queue,
    prepare: { roots: [], caps: DEFAULT_CAPS },
    token: TOKEN,
    uploadDir,
    metrics: new Metrics(),
    uploadLimits: limits,
  });
  apps.push(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Opens an upload of `length` bytes, sends `first` and returns the socket and what it receives. */
function stalledUpload(port: number, first: string, length = 1000): { socket: Socket; closed: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  let received = "";
  socket.on("data", (d) => {
    received += d.toString();
  });
  socket.on("error", () => undefined);
  const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(received)));
  socket.write(
    `POST /v1/scans/upload?name=slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n${first}`,
  );
  return { socket, closed };
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | "timeout"> =>
  Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mg-upload-deadlines-"));
  uploadDir = join(dir, "up");
  mkdirSync(uploadDir, { mode: 0o700 });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const app of apps) await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("upload deadlines", () => {
  it("cuts an upload that sends one byte and stalls, and removes its spool folder", async () => {
    const port = await serve({ idleMs: 300, totalMs: 10_000 });
    const { closed } = stalledUpload(port, "A");
    expect(await within(closed, 5_000)).not.toBe("timeout");
    await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(uploadDir)).toEqual([]);
  });

  it("cuts an upload that trickles past its total deadline", async () => {
    const port = await serve({ idleMs: 5_000, totalMs: 600 });
    const { socket, closed } = stalledUpload(port, "A");
    const trickle = setInterval(() => socket.writable && socket.write("B"), 100);
    try {
      expect(await within(closed, 5_000)).not.toBe("timeout");
    } finally {
      clearInterval(trickle);
    }
  });

  it("refuses uploads beyond the concurrency cap with 429, and still takes a whole one after", async () => {
    const port = await serve({ idleMs: 800, totalMs: 10_000, maxConcurrent: 1 });
    const { closed } = stalledUpload(port, "A");
    await new Promise((r) => setTimeout(r, 100));
    const url = `http://127.0.0.1:${port}/v1/scans/upload?name=ok.bin`;
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/octet-stream" };
    const refused = await fetch(url, { method: "POST", headers, body: "hello" });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
    expect(await within(closed, 5_000)).not.toBe("timeout");
    // the cut upload's handler frees its slot once its spool folder is removed
    let status = 0;
    for (let i = 0; i < 20 && status !== 202; i++) {
      status = (await fetch(url, { method: "POST", headers, body: "hello" })).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(202);
  });

  it("sets the server's connection and request timeouts (never 0)", async () => {
    await serve({});
    const app = apps[apps.length - 1]!;
    expect(app.server.requestTimeout).toBeGreaterThan(0);
    expect(app.server.timeout).toBeGreaterThan(0);
  });
});
