#!/usr/bin/env node
// The scan service's Redis queue (BullMQ) with real worker processes (`modelgate worker` from
// dist/): throughput and submit→completed latency (p50/p95) of small jobs with 1 and 2 workers,
// the enqueue→start overhead per job of an empty scan (BullMQ's processedOn − timestamp), and the
// verdict cache's hit rate when a folder is scanned again. Needs /usr/bin/redis-server (skipped
// without it). MODELGATE_BENCH_SCALE=0.25 shrinks the job counts.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { resolvePolicy } from "../dist/policy/policy.js";
import { createScanQueue, identityOf, resolveRoots } from "../dist/service/index.js";

const REDIS = process.env.MODELGATE_TEST_REDIS_BIN ?? "/usr/bin/redis-server";
if (!existsSync(REDIS)) {
  console.log(`queue bench: skipped (no ${REDIS})`);
  process.exit(0);
}
const scale = Number(process.env.MODELGATE_BENCH_SCALE ?? 1);
const JOBS = Math.max(20, Math.round(300 * scale));
const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, "..", "dist", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "mg-queue-bench-"));
const root = join(dir, "root");
mkdirSync(root);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const ping = (port) =>
  new Promise((resolve) => {
    const s = new Socket();
    s.once("connect", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.once("error", () => resolve(false));
    s.connect(port, "127.0.0.1");
  });

const port = await freePort();
const redis = spawn(
  REDIS,
  ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
  {
    stdio: "ignore",
  },
);
while (!(await ping(port))) await new Promise((r) => setTimeout(r, 50));
const url = `redis://127.0.0.1:${port}`;

const startWorkers = async (n) => {
  const procs = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [main, "worker", "--redis", url, "--root", root, "--concurrency", "4"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    await new Promise((resolve, reject) => {
      let text = "";
      child.stderr.on("data", (d) => {
        text += d.toString();
        if (/ ready\n/.test(text)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`worker exited ${code}: ${text}`)));
    });
    procs.push(child);
  }
  return procs;
};
const stopWorkers = async (procs) => {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve) => {
          p.once("exit", resolve);
          p.kill("SIGTERM");
        }),
    ),
  );
};

const roots = await resolveRoots([root]);
const policyHash = resolvePolicy({}).hash;
const options = { verify: "read", hash: true, timeoutMs: 600_000, concurrency: 2 };
const jobOf = (path) => ({ target: path, kind: "local", policyHash, options, submittedAt: Date.now() });
const queue = createScanQueue({ connection: url });
const done = new Map();
const events = queue.events()[Symbol.asyncIterator]();
const pump = (async () => {
  for (;;) {
    const e = await events.next();
    if (e.done) return;
    if (e.value.type === "completed" || e.value.type === "failed") done.set(e.value.id, performance.now());
  }
})();
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const runBatch = async (label, paths) => {
  const submitted = new Map();
  const t0 = performance.now();
  const ids = [];
  for (const p of paths) {
    const { id } = await queue.submit(jobOf(p), identityOf(p, "local"));
    submitted.set(id, performance.now());
    ids.push(id);
  }
  while (ids.some((id) => !done.has(id))) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - t0) / 1000;
  const lat = ids.map((id) => done.get(id) - submitted.get(id));
  console.log(
    `${label}: ${ids.length} jobs in ${seconds.toFixed(2)} s = ${(ids.length / seconds).toFixed(1)} jobs/s; latency p50 ${pct(lat, 50).toFixed(0)} ms, p95 ${pct(lat, 95).toFixed(0)} ms`,
  );
  return ids;
};

try {
  let n = 0;
  const files = (count, make) =>
    Array.from({ length: count }, () => {
      const p = join(roots[0], `f${n++}.json`);
      writeFileSync(p, make(n));
      return p;
    });
  for (const workers of [1, 2]) {
    const procs = await startWorkers(workers);
    await runBatch(
      `${workers} worker process${workers > 1 ? "es" : ""} (x4 concurrency), small JSON files`,
      files(JOBS, (i) => JSON.stringify({ i })),
    );
    await stopWorkers(procs);
  }

  // Enqueue→start overhead: empty files, one worker, BullMQ's own timestamps.
  const procs = await startWorkers(1);
  // One at a time, so the figure is the queue's own overhead, not a backlog.
  const emptyIds = [];
  const single = [];
  for (const p of files(Math.max(10, Math.round(40 * scale)), () => "")) {
    const t0 = performance.now();
    const { id } = await queue.submit(jobOf(p), identityOf(p, "local"));
    while (!done.has(id)) await new Promise((r) => setTimeout(r, 1));
    single.push(done.get(id) - t0);
    emptyIds.push(id);
  }
  console.log(
    `empty scan, submit→completed one at a time: p50 ${pct(single, 50).toFixed(0)} ms, p95 ${pct(single, 95).toFixed(0)} ms`,
  );
  const raw = new Queue("modelgate-scans", { connection: { url } });
  const waits = [];
  for (const id of emptyIds) {
    const job = await raw.getJob(id);
    if (job?.processedOn !== undefined) waits.push(job.processedOn - job.timestamp);
  }
  console.log(`enqueue→start per job (empty scan, 1 worker): p50 ${pct(waits, 50)} ms, p95 ${pct(waits, 95)} ms`);
  await raw.close();

  // Cache hit rate on a rescan of a folder of distinct files.
  const folder = join(roots[0], "models");
  mkdirSync(folder);
  for (let i = 0; i < 50; i++)
    writeFileSync(join(folder, `m${i}.json`), JSON.stringify({ model: i, pad: "x".repeat(1000) }));
  const rates = [];
  for (const pass of ["first scan", "rescan"]) {
    const { id } = await queue.submit(jobOf(folder), identityOf(folder, "local"));
    while (!done.has(id)) await new Promise((r) => setTimeout(r, 10));
    const report = await queue.result(id);
    const hits = report.files.filter((f) => f.cached === true).length;
    rates.push(`${pass} ${hits}/${report.files.length}`);
    done.delete(id);
  }
  // Local files are always analysed (the cache is looked up under digests a listing claims: Hub
  // LFS oids, pinned URLs); local scans only fill it. Hub rescans are where the hits are.
  console.log(`verdict cache hits (50-file local folder; local scans fill, Hub rescans hit): ${rates.join(", ")}`);
  await stopWorkers(procs);
} finally {
  await queue.close();
  await pump;
  redis.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
