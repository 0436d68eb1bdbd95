// The scan service on Redis + BullMQ with real processes: `modelgate serve --redis` (here, in the
// test process) only queues; `modelgate worker` child processes scan. Round trip, duplicate
// submissions scanned once, `kill -9` of a worker mid-scan (the job completes on another, once),
// Redis restarted under load (nothing lost), 200 jobs over 3 workers, and the shared verdict
// cache never storing a result under a digest that was not proven, and `/metrics` of serve showing
// what the workers did (counters kept in Redis).
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOOL_VERSION } from "../../src/core/version.js";
import { resolvePolicy } from "../../src/policy/policy.js";
import type { FileReport } from "../../src/report/schema.js";
import { contentKeyDigest } from "../../src/scan/cache.js";
import { identityOf } from "../../src/service/job.js";
import { RedisVerdictCache } from "../../src/service/redis-cache.js";
import { RedisScanCounters } from "../../src/service/redis-metrics.js";
import { createScanQueue, type RedisScanQueue, redisClient, runWorker } from "../../src/service/redis-queue.js";
import { type RunningServer, startServer } from "../../src/service/server.js";
import { SOURCE_CLI } from "../helpers/cli.js";
import { redisAvailable, startRedis, type TestRedis } from "../helpers/redis.js";
import { SAMPLES } from "../helpers/scan.js";
import { MockHub, safetensorsLike } from "../sources/hub/mock-hub.js";

const TOKEN = "redis-test-token-0123456789";
const COMMIT = "1111111111111111111111111111111111111111";
const SLOW_COMMIT = "2222222222222222222222222222222222222222";
const BIG_COMMIT = "3333333333333333333333333333333333333333";
const ready = redisAvailable();

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Lines the worker wrote to stderr. */
  readonly lines: string[];
  exited: Promise<number | null>;
}

let dir: string;
let root: string;
let redis: TestRedis;
let hub: MockHub;
let server: RunningServer;
let queue: RedisScanQueue;
let client: Redis;
const workers: WorkerProcess[] = [];
const completions = new Map<string, number>();
let eventsDone: Promise<void> | undefined;

/** Starts `modelgate worker` from the sources in a child process and waits until it is ready. */
async function startWorkerProcess(): Promise<WorkerProcess> {
  const args = [
    ...SOURCE_CLI,
    "worker",
    "--redis",
    redis.url,
    "--root",
    root,
    "--concurrency",
    "4",
    "--lock-ms",
    "4000",
    // The mock Hub's CDN is at 127.0.0.1 (an internal address): a redirect there is followed only
    // because the operator names it.
    "--allow-remote",
    "hf://",
    "--allow-remote",
    hub.cdnUrl,
  ];
  const env = { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: "", HF_HUB_OFFLINE: "" };
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  const lines: string[] = [];
  let buffered = "";
  const isReady = new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (/ ready$/.test(line)) resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`worker exited (${code}): ${lines.join("\n")}${buffered}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await isReady;
  const w = { child, pid: child.pid ?? 0, lines, exited };
  workers.push(w);
  return w;
}

const api = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...init.headers },
    signal: AbortSignal.timeout(10_000),
  });
const submit = async (target: string, options?: object): Promise<{ id: string; duplicate: boolean }> => {
  const res = await api("/v1/scans", {
    method: "POST",
    body: JSON.stringify({ target, ...(options ? { options } : {}) }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; duplicate: boolean };
};
/** A local file written under the root, the job that scans it (by its real path) and its identity. */
function localJob(name: string, content: string) {
  const realRoot = realpathSync(root);
  writeFileSync(join(root, name), content);
  const target = join(realRoot, name);
  const job = {
    target,
    kind: "local" as const,
    policyHash: resolvePolicy({}).hash,
    options: { verify: "read" as const, hash: true, timeoutMs: 60_000, concurrency: 1 },
    submittedAt: Date.now(),
  };
  return { realRoot, job, identity: identityOf(target, "local") };
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const completedStatus = (id: string, timeoutMs: number) =>
  waitFor(`job ${id}`, timeoutMs, async () => {
    const s = (await (await api(`/v1/scans/${id}`)).json()) as Record<string, unknown>;
    return s.state === "completed" || s.state === "failed" ? s : undefined;
  });
/** How many workers logged the completion of a job (each job must be completed once). */
const completedBy = (id: string): number =>
  workers.reduce((n, w) => n + w.lines.filter((l) => l.includes(` ${id} completed`)).length, 0);

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), "mg-redis-svc-"));
  root = join(dir, "root");
  mkdirSync(join(root, "many"), { recursive: true });
  mkdirSync(join(root, "load"), { recursive: true });
  copyFileSync(join(SAMPLES, "pickle/malicious/exec_string.pkl"), join(root, "evil.pkl"));
  for (let i = 0; i < 200; i++) writeFileSync(join(root, "many", `f${i}.json`), JSON.stringify({ i }));
  for (let i = 0; i < 40; i++) writeFileSync(join(root, "load", `f${i}.json`), JSON.stringify({ load: i }));
  writeFileSync(join(dir, "token"), TOKEN, { mode: 0o600 });
  chmodSync(join(dir, "token"), 0o600);
  const config = readFileSync(join(SAMPLES, "safetensors/clean-model.safetensors"));
  const slowFiles = Array.from({ length: 6 }, (_, i) => ({
    path: `part${i}.json`,
    content: new TextEncoder().encode(`{"part":${i}}`),
  }));
  // Every request of the mock Hub takes 250 ms: a scan of the six-file repository takes seconds.
  hub = await MockHub.start(
    [
      {
        name: "acme/tiny",
        refs: { main: COMMIT },
        commits: { [COMMIT]: [{ path: "model.safetensors", content: config, lfs: true }] },
      },
      { name: "acme/slow", refs: { main: SLOW_COMMIT }, commits: { [SLOW_COMMIT]: slowFiles } },
      {
        name: "acme/big",
        refs: { main: BIG_COMMIT },
        commits: { [BIG_COMMIT]: [{ path: "model.safetensors", content: safetensorsLike(2, 64 << 20), lfs: true }] },
      },
    ],
    { latencyMs: 250 },
  );
  redis = await startRedis();
  client = redisClient(redis.url);
  server = await startServer({
    port: 0,
    tokenFile: join(dir, "token"),
    roots: [root],
    redis: redis.url,
    rateLimitPerMinute: 1_000_000,
  });
  queue = createScanQueue({ connection: redis.url });
  const events = queue.events()[Symbol.asyncIterator]();
  eventsDone = (async () => {
    for (;;) {
      const e = await events.next();
      if (e.done === true) return;
      if (e.value.type === "completed") completions.set(e.value.id, (completions.get(e.value.id) ?? 0) + 1);
    }
  })();
  await Promise.all([startWorkerProcess(), startWorkerProcess()]);
}, 40_000);

afterAll(async () => {
  if (!ready) return;
  for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
  await queue?.close();
  await eventsDone;
  client?.disconnect();
  await server?.close();
  await redis?.stop();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
}, 20_000);

describe.skipIf(!ready)("scan service on Redis with worker processes", () => {
  it("round trip: serve queues, a worker scans, the report comes back in three formats", async () => {
    const { id } = await submit(join(root, "evil.pkl"));
    const status = await completedStatus(id, 15_000);
    expect(status.verdict).toBe("malicious");
    expect(status.progress).toMatchObject({ filesTotal: 1, filesDone: 1, path: "" });
    expect(workers.map((w) => `:${w.pid}`)).toContain(String(status.worker).replace(/^.*(:\d+)$/, "$1"));
    const sarif = (await (await api(`/v1/scans/${id}?format=sarif`)).json()) as { report: { version: string } };
    expect(sarif.report.version).toBe("2.1.0");
    const cdx = (await (await api(`/v1/scans/${id}?format=cyclonedx`)).json()) as { report: { bomFormat: string } };
    expect(cdx.report.bomFormat).toBe("CycloneDX");
    // The proven digest of the file (bound to its name, as the engine keys results) is now in the
    // shared cache.
    const sha = createHash("sha256")
      .update(readFileSync(join(root, "evil.pkl")))
      .digest("hex");
    const key = new RedisVerdictCache(client).keyOf({
      sha256: contentKeyDigest(sha, "evil.pkl"),
      toolVersion: TOOL_VERSION,
      policyHash: resolvePolicy({}).hash,
    });
    expect(await client.exists(key)).toBe(1);
    // The worker logs the completion after Redis recorded it: wait for the line, then count.
    await waitFor("the worker's completion line", 5_000, async () => (completedBy(id) >= 1 ? true : undefined));
    expect(completedBy(id)).toBe(1);
  }, 20_000);

  it("duplicate submissions of a pinned target share one scan", async () => {
    const target = `hf://acme/tiny@${COMMIT}`;
    const [a, b] = await Promise.all([submit(target), submit(target)]);
    expect(a.id).toBe(b.id);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    const status = await completedStatus(a.id, 15_000);
    expect(status.state, JSON.stringify(status).slice(0, 600)).toBe("completed");
    expect(status.verdict).toBe("clean");
    const again = await submit(target);
    expect(again).toEqual({ id: a.id, duplicate: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(completedBy(a.id)).toBe(1);
    expect(completions.get(a.id)).toBe(1);
  }, 20_000);

  it("an unpinned target is scanned again once its last scan finished; a submission reads the latest generation only, no report", async () => {
    // Its own queue and an in-process worker, stopped before the last submission: nothing else
    // reads jobs meanwhile.
    const name = "test-generations";
    const own = createScanQueue({ connection: redis.url, name });
    const { realRoot, job, identity } = localJob("again.json", JSON.stringify({ again: true }));
    const worker = runWorker({ connection: redis.url, name, roots: [realRoot], counters: false });
    try {
      await worker.ready();
      const finished = (id: string) =>
        waitFor(`job ${id}`, 15_000, async () => {
          const s = await own.status(id);
          return s?.state === "completed" ? s : undefined;
        });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const [a, b] = await Promise.all([own.submit(job, identity), own.submit(job, identity)]);
        expect(a.id).toBe(b.id);
        expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
        // Submitted again while it is queued or running: the same job.
        expect(await own.submit(job, identity)).toEqual({ id: a.id, duplicate: true });
        await finished(a.id);
        ids.push(a.id);
      }
      expect(new Set(ids).size).toBe(3);
      await worker.close();
      // A fourth submission goes to the latest generation without reading the ones between the
      // first (read in the same round trip as the record of the latest) and the latest, and
      // without fetching a job (HGETALL, which carries the report) or running BullMQ's state script.
      // MONITOR sees every command, those inside scripts too; only this queue's keys count (the
      // suite's other workers share the server).
      const monitor = await client.monitor();
      const seen: string[][] = [];
      monitor.on("monitor", (_time: string, args: string[]) => {
        if (args.some((a) => a.startsWith(`bull:${name}:`))) seen.push(args);
      });
      try {
        await new Promise((r) => setTimeout(r, 50));
        const fourth = await own.submit(job, identity);
        await client.ping(); // the monitor has seen everything submit sent
        await new Promise((r) => setTimeout(r, 50));
        const reads = seen.filter((a) => a[0]?.toLowerCase() === "hgetall").map((a) => a[1]);
        expect(reads).toEqual([]);
        const looked = (id: string) => seen.some((a) => a[1] === `bull:${name}:${id}`);
        expect(looked(ids[2]!)).toBe(true);
        expect(looked(ids[1]!)).toBe(false);
        expect(ids).not.toContain(fourth.id);
        expect(fourth.duplicate).toBe(false);
        expect((await own.status(fourth.id))?.state).toBe("queued");
        // Without the record of the latest generation (lost, expired), a submission walks the
        // chain from the first generation and reaches the same job.
        const latest = seen.find((a) => a[0]?.toLowerCase() === "get" && a[1]?.includes(":latest:"))?.[1];
        expect(latest).toBeDefined();
        expect(await client.del(latest!)).toBe(1);
        expect(await own.submit(job, identity)).toEqual({ id: fourth.id, duplicate: true });
      } finally {
        monitor.disconnect();
      }
    } finally {
      await worker.close();
      await own.close();
    }
  }, 40_000);

  it("a target rescanned 120 times within the TTL: each rescan a new job, none refused", async () => {
    const name = "test-many-generations";
    const own = createScanQueue({ connection: redis.url, name });
    const { realRoot, job, identity } = localJob("often.json", JSON.stringify({ often: true }));
    const worker = runWorker({ connection: redis.url, name, roots: [realRoot], counters: false });
    try {
      await worker.ready();
      const finished = new Set<string>();
      let wake: (() => void) | undefined;
      const events = own.events()[Symbol.asyncIterator]();
      void (async () => {
        for (;;) {
          const e = await events.next();
          if (e.done) return;
          if (e.value.type === "completed") {
            finished.add(e.value.id);
            wake?.();
          }
        }
      })();
      const ids = new Set<string>();
      for (let i = 0; i < 120; i++) {
        const { id, duplicate } = await own.submit(job, identity);
        expect(duplicate).toBe(false);
        ids.add(id);
        const deadline = Date.now() + 10_000;
        while (!finished.has(id) && Date.now() < deadline) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 100);
          });
        }
        expect(finished.has(id)).toBe(true);
      }
      expect(ids.size).toBe(120);
      await events.return?.();
    } finally {
      await worker.close();
      await own.close();
    }
  }, 60_000);

  it("a worker killed with SIGKILL mid-scan loses the job to another, which completes it once", async () => {
    const { id } = await submit(`hf://acme/slow@${SLOW_COMMIT}`, { concurrency: 1 });
    const victim = await waitFor("a worker to start the job", 10_000, async () =>
      workers.find((w) => w.child.exitCode === null && w.lines.some((l) => l.includes(` ${id} started`))),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await queue.status(id))?.state).toBe("running");
    victim.child.kill("SIGKILL");
    await victim.exited;
    const status = await completedStatus(id, 20_000);
    expect(status.state).toBe("completed");
    expect(status.verdict).toBe("clean");
    expect(String(status.worker)).not.toMatch(new RegExp(`:${victim.pid}$`));
    expect(completedBy(id)).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(completions.get(id)).toBe(1);
  }, 30_000);

  it("Redis restarted under load: workers reconnect and every job completes once", async () => {
    const live = workers.filter((w) => w.child.exitCode === null);
    if (live.length < 2) await startWorkerProcess();
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(`load/f${i}.json`)));
    await new Promise((r) => setTimeout(r, 200));
    await redis.restart({ downMs: 1000 });
    for (const { id } of ids) {
      const s = await completedStatus(id, 20_000);
      expect(s.state).toBe("completed");
    }
    for (const { id } of ids) expect(completedBy(id)).toBe(1);
  }, 40_000);

  it("200 small jobs over 3 workers all complete, each once, in bounded time", async () => {
    while (workers.filter((w) => w.child.exitCode === null).length < 3) await startWorkerProcess();
    const started = Date.now();
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => submit(`many/f${i}.json`)));
    expect(new Set(ids.map((x) => x.id)).size).toBe(200);
    await waitFor("200 completions", 30_000, async () =>
      ids.every(({ id }) => completedBy(id) >= 1) ? true : undefined,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const { id } of ids) expect(completedBy(id)).toBe(1);
    const busy = workers.filter((w) => ids.some(({ id }) => w.lines.some((l) => l.includes(` ${id} completed`))));
    expect(busy.length).toBeGreaterThanOrEqual(2);
  }, 45_000);

  it("serve's /metrics shows the workers' scans: durations, bytes read, files, cache hits, errors by code", async () => {
    const metric = (text: string, name: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    };
    const read = async (base = server.url) => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const names = [
      "modelgate_scan_duration_seconds_count",
      'modelgate_scan_duration_seconds_bucket{le="+Inf"}',
      "modelgate_bytes_read_total",
      "modelgate_files_scanned_total",
      "modelgate_cache_hits_total",
      'modelgate_errors_total{code="INVALID_ARGUMENT"}',
    ];
    const snapshot = async (base?: string) => {
      const text = await read(base);
      expect(text).toContain("modelgate_worker_counters_up 1");
      return Object.fromEntries(names.map((n) => [n, metric(text, n)]));
    };
    // Workers write their counters in batches (at most a second late): wait until the earlier
    // tests' counts are in (two readings 1.5 s apart agree) before taking the baseline.
    let before = await snapshot();
    for (let settled = false; !settled; ) {
      await new Promise((r) => setTimeout(r, 1500));
      const now = await snapshot();
      settled = names.every((n) => now[n] === before[n]);
      before = now;
    }
    const live = workers.filter((w) => w.child.exitCode === null);
    if (live.length === 0) await startWorkerProcess();
    // A local file (its bytes are read), a Hub file read whole twice under two job ids (the second
    // scan is answered by the shared cache), and a queue entry naming a path outside the workers'
    // roots (an INVALID_ARGUMENT error in its report).
    writeFileSync(join(root, "metrics.json"), JSON.stringify({ pad: "m".repeat(5000) }));
    const local = await submit("metrics.json");
    const full = await submit(`hf://acme/tiny@${COMMIT}`, { verify: "full" });
    expect((await completedStatus(local.id, 15_000)).state).toBe("completed");
    expect((await completedStatus(full.id, 15_000)).state).toBe("completed");
    const again = await submit(`hf://acme/tiny@${COMMIT}`, { verify: "full", concurrency: 3 });
    const hit = await completedStatus(again.id, 15_000);
    expect((hit.report as { files: { cached?: boolean }[] }).files[0]?.cached).toBe(true);
    const outside = await queue.submit(
      {
        target: "/etc/hostname",
        kind: "local",
        policyHash: resolvePolicy({}).hash,
        options: { verify: "read", hash: true, timeoutMs: 60_000, concurrency: 1 },
        submittedAt: Date.now(),
      },
      { content: `name:local:/etc/hostname:${Date.now()}`, pinned: false },
    );
    const refused = await completedStatus(outside.id, 15_000);
    expect(refused.verdict).toBe("invalid");

    // Workers add their counters once a job is committed: poll until all four are in.
    const after = await waitFor("the workers' counters", 10_000, async () => {
      const s = await snapshot();
      return s.modelgate_scan_duration_seconds_count! >= before.modelgate_scan_duration_seconds_count! + 4
        ? s
        : undefined;
    });
    const delta = (n: string) => after[n]! - before[n]!;
    expect(delta("modelgate_scan_duration_seconds_count")).toBe(4);
    expect(delta('modelgate_scan_duration_seconds_bucket{le="+Inf"}')).toBe(4);
    // The local file's bytes at least (the Hub file may be answered from the cache both times: an
    // earlier test scanned the same commit).
    expect(delta("modelgate_bytes_read_total")).toBeGreaterThanOrEqual(5000);
    // The refused job's report lists no file.
    expect(delta("modelgate_files_scanned_total")).toBe(3);
    expect(delta("modelgate_cache_hits_total")).toBeGreaterThanOrEqual(1);
    expect(delta('modelgate_errors_total{code="INVALID_ARGUMENT"}')).toBe(1);

    // The totals live in Redis: another serve process (a replica, or this one restarted) shows them.
    const replica = await startServer({ port: 0, tokenFile: join(dir, "token"), roots: [root], redis: redis.url });
    try {
      const seen = await snapshot(replica.url);
      for (const n of names) expect(seen[n], n).toBe(after[n]);
    } finally {
      await replica.close();
    }
  }, 60_000);

  it("the counters read back from Redis are numbers and known-shaped codes, whatever the hash holds", async () => {
    const counters = new RedisScanCounters(client, { queue: "test-counters" });
    await counters.add({
      durationBuckets: [0, 1, 1],
      durationSum: 0.2,
      durationCount: 1,
      bytesRead: 10,
      errors: { IO: 2 },
    });
    await counters.error("not a code");
    await client.hset(counters.key, { bytes_read: "NaN", "error:<script>": "5", cache_hits: "-3" });
    const read = await counters.read();
    expect(read.durationCount).toBe(1);
    expect(read.durationBuckets.slice(0, 3)).toEqual([0, 1, 1]);
    expect(read.durationSum).toBeCloseTo(0.2);
    expect(read.bytesRead).toBe(0);
    expect(read.cacheHits).toBe(0);
    expect(read.errors).toEqual({ IO: 2, OTHER: 1 });
  });

  it("the shared cache never stores a result under a digest that was not proven", async () => {
    const cache = new RedisVerdictCache(client, { prefix: "test:verdict" });
    const key = { sha256: "a".repeat(64), toolVersion: TOOL_VERSION, policyHash: "b".repeat(64) };
    const report: FileReport = {
      path: "x.bin",
      size: 1,
      format: "unknown",
      formats: ["unknown"],
      sha256: "c".repeat(64),
      verdict: "clean",
      findings: [],
    } as unknown as FileReport;
    await cache.set(key, report);
    expect(await client.exists(cache.keyOf(key))).toBe(0);
    await cache.set(key, { ...report, sha256: key.sha256, findings: [{ ruleId: "scan/timeout" } as never] });
    expect(await client.exists(cache.keyOf(key))).toBe(0);
    await cache.set(key, { ...report, sha256: key.sha256 });
    expect(await client.exists(cache.keyOf(key))).toBe(1);
    // The engine's key: the content's SHA-256 bound to the file's path. The same content under
    // another path is another key, and a report is not stored under it.
    const atPath = { ...key, sha256: contentKeyDigest("c".repeat(64), "x.bin") };
    await cache.set(atPath, report);
    expect(await client.exists(cache.keyOf(atPath))).toBe(1);
    const elsewhere = { ...key, sha256: contentKeyDigest("c".repeat(64), "y.bin") };
    await cache.set(elsewhere, report);
    expect(await client.exists(cache.keyOf(elsewhere))).toBe(0);
    expect((await cache.get(key))?.path).toBe("x.bin");

    // A Hub file read partially: its listed oid is only a claim, so nothing is stored under it.
    const { id } = await submit(`hf://acme/big@${BIG_COMMIT}`);
    const status = await completedStatus(id, 20_000);
    expect(status.state).toBe("completed");
    const report2 = (status.report as { files: { path: string; integrity?: { status: string } }[] }).files[0];
    expect(report2?.integrity?.status).not.toBe("verified");
    const keys = await client.keys("modelgate:verdict:*");
    const oidOf = async () => {
      const c = safetensorsLike(2, 64 << 20);
      const h = createHash("sha256");
      for (let at = 0; at < c.size; at += 8 << 20) h.update(await c.read(at, Math.min(c.size, at + (8 << 20))));
      return h.digest("hex");
    };
    const oid = await oidOf();
    expect(keys.some((k) => k.endsWith(oid))).toBe(false);
  }, 30_000);
});
