#!/usr/bin/env node
// The scan service's Redis queue (BullMQ) with real worker processes (`modelgate worker` from
// dist/), on a real redis-server started here:
//   1. small jobs (tiny JSON files): throughput and submit→completed latency p50/p95 with 1 and 2
//      worker processes. These measure the queue's own cost (a few Redis round trips per job), not
//      scanning; on a 2-core machine the bench process and Redis share the cores with the workers.
//   2. CPU-bound jobs: each job scans its own pickle (distinct bytes, 2 MB, 250,000 memoized calls, ~25 ms
//      of CPU, most of it in the pickle analyzer), verdict cache off, with 1 and 2 worker processes
//      (one job at a time each: MODELGATE_BENCH_QUEUE_CONCURRENCY, default 1), alternately,
//      MODELGATE_BENCH_QUEUE_ROUNDS times (default 5; the median of the rounds' ratios counts),
//      beside the same scans in plain processes without the queue (the machine's own 2-process
//      scaling at that moment), started with the V8 flags `modelgate worker` starts itself with.
//      Prints jobs/s, p50/p95, the ratio (goal: 2 workers >= 1.6x one) and where the CPU went
//      (workers, Redis, this process, and every other process of the machine), so a ratio short of
//      2 can be attributed.
//   3. queue overhead per job with an empty scan: BullMQ's processedOn − timestamp (enqueue → start),
//      one job at a time (goal: p95 <= 10 ms).
//   4. verdict cache hit rate on a rescan: a local folder (local scans fill the cache, their files
//      are analysed again) and an hf:// repository served by the project's fixture Hub
//      (scripts/serve-fixtures.mjs, started here), whose LFS files are looked up by their listed
//      SHA-256.
// Needs /usr/bin/redis-server (skipped without it). MODELGATE_BENCH_SCALE=0.25 shrinks the job
// counts; MODELGATE_BENCH_QUEUE_PHASES=cpu,overhead runs some phases only;
// MODELGATE_BENCH_QUEUE_CALLS sets the calls per CPU-bound pickle (default 250,000: 2.2 MB, below
// the 4 MiB from which a worker hashes a file on its hash pool's thread beside the analysis).
// MODELGATE_BENCH_WORKER_ARGS passes Node arguments to the workers and the plain processes (a
// young-generation size there replaces the one `modelgate worker` would choose).
// MODELGATE_BENCH_QUEUE_SUBMITTERS sets the submissions in flight at once (default 16; 1 submits
// one job at a time).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { LONG_RUNNING_FLAGS, restartArguments } from "../dist/cli/node-flags.js";
import { resolvePolicy } from "../dist/policy/policy.js";
import { createScanQueue, identityOf, redisClient, resolveRoots } from "../dist/service/index.js";

const REDIS = process.env.MODELGATE_TEST_REDIS_BIN ?? "/usr/bin/redis-server";
if (!existsSync(REDIS)) {
  console.log(`queue bench: skipped (no ${REDIS})`);
  process.exit(0);
}
const scale = Number(process.env.MODELGATE_BENCH_SCALE ?? 1);
const phases = new Set((process.env.MODELGATE_BENCH_QUEUE_PHASES ?? "light,cpu,overhead,cache").split(","));
const JOBS = Math.max(20, Math.round(300 * scale));
// 96 jobs: a run of 32 took under a second once a job took 40 ms, and its first and last jobs (the
// workers starting and draining) weighed on the rate.
const CPU_JOBS = Math.max(8, Math.round(96 * scale));
const CPU_CALLS = Number(process.env.MODELGATE_BENCH_QUEUE_CALLS ?? 250_000);
const ROUNDS = Math.max(1, Number(process.env.MODELGATE_BENCH_QUEUE_ROUNDS ?? 5));
const WORKER_ARGS = (process.env.MODELGATE_BENCH_WORKER_ARGS ?? "").split(" ").filter((a) => a !== "");
const CPU_CONCURRENCY = Math.max(1, Number(process.env.MODELGATE_BENCH_QUEUE_CONCURRENCY ?? 1));
const SUBMITTERS = Math.max(1, Number(process.env.MODELGATE_BENCH_QUEUE_SUBMITTERS ?? 16));
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");
const main = join(repo, "dist", "cli", "main.js");
// What `modelgate worker` runs with once it started itself again (cli/node-flags.ts): the plain
// processes of the baseline get the same.
const PLAIN_ARGS =
  restartArguments({
    execPath: process.execPath,
    execArgv: WORKER_ARGS,
    argv: [process.execPath, main, "worker"],
    env: process.env,
    ipc: false, // spawned without a channel
  }) === undefined
    ? WORKER_ARGS
    : [...LONG_RUNNING_FLAGS, ...WORKER_ARGS];
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

/**
 * Kernel CPU seconds and minor page faults of a process so far, from /proc (Linux); NaN elsewhere.
 * Page faults cost about 9 µs of kernel time each in the virtual machines this runs on.
 */
function kernelOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { system: Number(fields[12]) / TICKS, faults: Number(fields[7]) };
  } catch {
    return { system: Number.NaN, faults: Number.NaN };
  }
}

/** CPU seconds (user + system) a process used so far, from /proc (Linux); NaN elsewhere. */
const TICKS = 100;
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds so far of each thread of a process, by kind: `main` (the event loop: scanning and the
 * queue client), `v8` (V8's helper threads: concurrent marking, parallel scavenges, compilation),
 * `libuv` (file system calls) and `other` (hash pool threads, ...); from /proc (Linux), else {}.
 */
function threadSeconds(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const kind =
        tid === String(pid) ? "main" : name === "V8Worker" ? "v8" : name.startsWith("libuv") ? "libuv" : "other";
      out.set(tid, { kind, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS });
    } catch {
      // the thread ended
    }
  }
  return out;
}
const threadDelta = (before, after) => {
  const by = { main: 0, v8: 0, libuv: 0, other: 0 };
  for (const [tid, t] of after) by[t.kind] += Math.max(0, t.seconds - (before.get(tid)?.seconds ?? 0));
  return by;
};

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; NaN elsewhere. */
function machineBusySeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return (total - f[3] - f[4]) / TICKS;
  } catch {
    return Number.NaN;
  }
}

const port = await freePort();
const redis = spawn(
  REDIS,
  ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
  { stdio: "ignore" },
);
while (!(await ping(port))) await new Promise((r) => setTimeout(r, 50));
const url = `redis://127.0.0.1:${port}`;

const startWorkers = async (n, { concurrency = 4, cache = true, env = process.env, allowRemote = [] } = {}) => {
  const procs = [];
  for (let i = 0; i < n; i++) {
    const args = [...WORKER_ARGS, main, "worker", "--redis", url, "--root", root, "--concurrency", String(concurrency)];
    if (!cache) args.push("--no-cache");
    for (const prefix of allowRemote) args.push("--allow-remote", prefix);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env });
    await new Promise((resolve, reject) => {
      let text = "";
      const onData = (d) => {
        text += d.toString();
        if (/ ready\n/.test(text)) {
          // Keep draining stderr (one line per job) without keeping it.
          child.stderr.off("data", onData);
          child.stderr.resume();
          resolve();
        }
      };
      child.stderr.on("data", onData);
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
const baseOptions = { verify: "read", hash: true, timeoutMs: 600_000, concurrency: 2 };
const jobOf = (target, kind = "local", options = baseOptions) => ({
  target,
  kind,
  policyHash,
  options,
  submittedAt: Date.now(),
});
const queue = createScanQueue({ connection: url });
// Redis's own count of the commands it ran (INFO commandstats): commands and Redis CPU per job.
const statsClient = redisClient(url);
const commandStats = async () => {
  const text = await statsClient.info("commandstats");
  let calls = 0;
  let usec = 0;
  let scripts = 0;
  const by = {};
  for (const m of text.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    if (m[1] === "info") continue;
    by[m[1]] = Number(m[2]);
    calls += Number(m[2]);
    usec += Number(m[3]);
    if (m[1] === "evalsha" || m[1] === "eval") scripts += Number(m[2]);
  }
  return { calls, usec, scripts, by };
};
const done = new Map();
// Who waits for which job: woken by the event, not by polling (a timer every few ms per waiting job
// would be CPU of this process competing with the workers once they use every core).
const waiting = new Map();
const events = queue.events()[Symbol.asyncIterator]();
const pump = (async () => {
  for (;;) {
    const e = await events.next();
    if (e.done) return;
    if (e.value.type === "completed" || e.value.type === "failed") {
      done.set(e.value.id, performance.now());
      for (const wake of waiting.get(e.value.id) ?? []) wake();
      waiting.delete(e.value.id);
    }
  }
})();
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const waitDone = (id) =>
  done.has(id)
    ? Promise.resolve()
    : new Promise((resolve) => {
        if (!waiting.has(id)) waiting.set(id, []);
        waiting.get(id).push(resolve);
      });

/** Submits every path at once, waits for all; returns jobs/s, latencies and CPU by process. */
const runBatch = async (label, paths, procs, options = baseOptions) => {
  const pids = { workers: procs.map((p) => p.pid), redis: [redis.pid], bench: [process.pid] };
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, v.map(cpuSeconds)]));
  const threads0 = pids.workers.map(threadSeconds);
  const kernel0 = pids.workers.map(kernelOf);
  const commands0 = await commandStats();
  const machine0 = machineBusySeconds();
  const submitted = new Map();
  const t0 = performance.now();
  const ids = new Array(paths.length);
  // SUBMITTERS submissions in flight at once, as a mirror taking in many files would send them.
  // One at a time, each waited for its three round trips while the workers held both cores: the
  // submissions spanned the whole run and cost this process 1.2–1.4 ms of CPU each (0.65 ms on an
  // idle machine), CPU taken from the workers only when there are two of them.
  let next = 0;
  const submitter = async () => {
    while (next < paths.length) {
      const i = next++;
      const at = performance.now();
      const { id } = await queue.submit(jobOf(paths[i], "local", options), identityOf(paths[i], "local"));
      submitted.set(id, at);
      ids[i] = id;
    }
  };
  await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
  for (const id of ids) await waitDone(id);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k, v]) => [k, v.reduce((s, pid, i) => s + cpuSeconds(pid) - cpu0[k][i], 0)]),
  );
  const commands1 = await commandStats();
  const commands = Object.fromEntries(["calls", "usec", "scripts"].map((k) => [k, commands1[k] - commands0[k]]));
  // Commands per job by name, for MODELGATE_BENCH_VERBOSE.
  const byCommand = Object.entries(commands1.by)
    .map(([k, v]) => [k, (v - (commands0.by[k] ?? 0)) / paths.length])
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1]);
  const kernel = { system: 0, faults: 0 };
  pids.workers.forEach((pid, i) => {
    const k = kernelOf(pid);
    kernel.system += k.system - kernel0[i].system;
    kernel.faults += k.faults - kernel0[i].faults;
  });
  const threads = { main: 0, v8: 0, libuv: 0, other: 0 };
  pids.workers.forEach((pid, i) => {
    for (const [k, v] of Object.entries(threadDelta(threads0[i], threadSeconds(pid)))) threads[k] += v;
  });
  // CPU used by everything else on the machine meanwhile (other processes, a niced fuzz run ...).
  const others = machineBusySeconds() - machine0 - cpu.workers - cpu.redis - cpu.bench;
  const failed = [];
  for (const id of ids) if ((await queue.status(id))?.state !== "completed") failed.push(id);
  const lat = ids.map((id) => done.get(id) - submitted.get(id));
  // Which worker ran what (BullMQ's timestamps): jobs per worker, and for MODELGATE_BENCH_VERBOSE
  // the timeline (ms after the first submission) of each job.
  const raw = new Queue("modelgate-scans", { connection: { url } });
  const byWorker = new Map();
  const timeline = [];
  let first = Number.POSITIVE_INFINITY;
  const jobs = [];
  for (const id of ids) {
    const job = await raw.getJob(id);
    if (job === undefined) continue;
    jobs.push(job);
    first = Math.min(first, job.timestamp);
  }
  for (const job of jobs) {
    const w = String(job.returnvalue?.worker ?? "?").replace(/^.*:/, "pid ");
    byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
    timeline.push(
      `${w} queued ${job.timestamp - first} start ${job.processedOn - first} end ${job.finishedOn - first}`,
    );
  }
  await raw.close();
  if (process.env.MODELGATE_BENCH_VERBOSE) {
    console.log(timeline.join("\n"));
    console.log(`Redis commands per job: ${byCommand.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
  }
  const rate = ids.length / seconds;
  console.log(
    `${label}: ${ids.length} jobs in ${seconds.toFixed(2)} s = ${rate.toFixed(2)} jobs/s; latency p50 ${pct(lat, 50).toFixed(0)} ms, p95 ${pct(lat, 95).toFixed(0)} ms` +
      `; CPU s: workers ${cpu.workers.toFixed(2)}, redis ${cpu.redis.toFixed(2)}, bench ${cpu.bench.toFixed(2)} (${(
        (cpu.workers + cpu.redis + cpu.bench) / seconds
      ).toFixed(
        2,
      )} of ${availableParallelism()} cores; other processes ${Math.max(0, others / seconds).toFixed(2)} cores)` +
      `; Redis per job: ${(commands.calls / ids.length).toFixed(1)} commands (${(commands.scripts / ids.length).toFixed(1)} BullMQ scripts), ${(commands.usec / ids.length / 1000).toFixed(2)} ms` +
      `; jobs by worker: ${[...byWorker].map(([w, c]) => `${w} ${c}`).join(", ")}` +
      (failed.length > 0 ? `; ${failed.length} NOT completed` : ""),
  );
  return { rate, seconds, cpu, threads, kernel };
};

let n = 0;
const files = (count, make, ext = "json") =>
  Array.from({ length: count }, () => {
    const i = n++;
    const p = join(roots[0], `f${i}.${ext}`);
    writeFileSync(p, make(i));
    return p;
  });

/**
 * What CPython's pickler writes (protocol 2) for `[tag, OrderedDict(), OrderedDict(), ...]`: the
 * shape of a checkpoint's pickled instances. `GLOBAL collections OrderedDict` memoized, then per
 * element `BINGET 2, EMPTY_TUPLE, REDUCE` and the memo put CPython adds for every new object
 * (`BINPUT`, `LONG_BINPUT` from index 256), appended in batches of 1000 by MARK ... APPENDS
 * (byte-identical to `pickle.dumps(..., protocol=2)`; checked against CPython when this was
 * written). Each call is counted by the pickle analyzer and its memo put kept (as the call's callee
 * and offset: the memo keeps calls without arguments compactly), so the analyzer's main-thread work
 * dominates the job, against a few ms to read and hash the file. `seed` makes each file's bytes
 * distinct.
 */
function cpuPickle(seed, calls = CPU_CALLS) {
  const tag = Buffer.from(`job-${seed}`, "latin1");
  const label = Buffer.alloc(5 + tag.length + 2);
  label[0] = 0x58; // BINUNICODE
  label.writeUInt32LE(tag.length, 1);
  tag.copy(label, 5);
  label[5 + tag.length] = 0x71; // BINPUT 1
  label[6 + tag.length] = 1;
  const first = Buffer.from("ccollections\nOrderedDict\nq\x02", "latin1");
  const out = Buffer.alloc(16 + label.length + first.length + calls * 9 + Math.ceil((calls + 1) / 1000) * 2);
  let at = out.write("\x80\x02]q\x00", 0, "latin1");
  const item = (i) => {
    if (i === 0) {
      label.copy(out, at);
      at += label.length;
      return;
    }
    if (i === 1) {
      first.copy(out, at);
      at += first.length;
      out[at++] = 0x29; // EMPTY_TUPLE
      out[at++] = 0x52; // REDUCE
    } else {
      out.set([0x68, 2, 0x29, 0x52], at); // BINGET 2, EMPTY_TUPLE, REDUCE
      at += 4;
    }
    const index = i + 2;
    if (index < 256) {
      out[at++] = 0x71; // BINPUT
      out[at++] = index;
    } else {
      out[at++] = 0x72; // LONG_BINPUT
      out.writeUInt32LE(index, at);
      at += 4;
    }
  };
  // CPython's batching (its C pickler): MARK ... APPENDS per 1000 items; APPEND for a list of one.
  const total = calls + 1;
  for (let start = 0; start < total; start += 1000) {
    const n = Math.min(1000, total - start);
    if (total > 1) out[at++] = 0x28; // MARK
    for (let i = start; i < start + n; i++) item(i);
    out[at++] = total > 1 ? 0x65 : 0x61; // APPENDS / APPEND
  }
  out[at++] = 0x2e; // STOP
  return out.subarray(0, at);
}

const summary = [];
try {
  if (phases.has("light")) {
    for (const workers of [1, 2]) {
      const procs = await startWorkers(workers);
      await runBatch(
        `small JSON files, ${workers} worker process${workers > 1 ? "es" : ""} (x4 concurrency)`,
        files(JOBS, (i) => JSON.stringify({ i })),
        procs,
      );
      await stopWorkers(procs);
    }
  }

  if (phases.has("cpu")) {
    // One job per process at a time: BullMQ hands a worker its next job in the call that completes
    // the last, so a process idles little between jobs, and two scans interleaved in one process
    // cost more CPU each (with 2: 1.10 to 1.19 cores for one worker, and 22 to 27 ms of CPU per
    // job against 23 to 24). Same concurrency for 1 and 2 processes, verdict cache off. Each job has
    // its own file (distinct bytes); the same files serve every run, so each run reads them from
    // the page cache alike. Runs alternate 1 and 2 processes, ROUNDS times: the best run of each
    // and the median of the rounds' ratios are shown.
    const size = cpuPickle(0).length;
    const paths = files(CPU_JOBS, (i) => cpuPickle(i), "pkl");
    // Warm-up: WARM jobs per process before each measured run (not measured). A fresh process's
    // first two scans take two to three times as long as later ones (compilation, heap growth), and
    // with two processes that work competes with the other worker's scans; the goal is about
    // workers that run for hours.
    const WARM = 8;
    const warm = files(2 * WARM, (i) => cpuPickle(i), "pkl");
    const best = { 1: undefined, 2: undefined };
    const paired = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const workers of [1, 2]) {
        const procs = await startWorkers(workers, { concurrency: CPU_CONCURRENCY, cache: false });
        await runBatch(`  warm-up, ${workers} process(es)`, warm.slice(0, WARM * workers), procs);
        const r = await runBatch(
          `CPU-bound pickles (${(size / 1e6).toFixed(1)} MB, ${CPU_CALLS / 1000}k memoized calls each), ${workers} worker process${workers > 1 ? "es" : ""} (x${CPU_CONCURRENCY} concurrency, cache off), round ${round}`,
          paths,
          procs,
        );
        const got = r.cpu.workers / r.seconds;
        const perJob = (s) => ((1000 * s) / paths.length).toFixed(0);
        console.log(
          `  ${workers} process(es): ${perJob(r.cpu.workers)} ms of worker CPU per job (threads: main ${perJob(r.threads.main)}, V8 helpers ${perJob(r.threads.v8)}, libuv ${perJob(r.threads.libuv)}, other ${perJob(r.threads.other)}; in the kernel ${perJob(r.kernel.system)}, ${(r.kernel.faults / paths.length).toFixed(0)} page faults); the workers got ${got.toFixed(2)} cores`,
        );
        if (best[workers] === undefined || r.rate > best[workers].rate) best[workers] = { ...r, got };
        if (workers === 1) paired.push(r.rate);
        else paired[paired.length - 1] = r.rate / paired[paired.length - 1];
        await stopWorkers(procs);
      }
    }
    // Baseline, same files: scan() in 1 and 2 plain processes, no queue (each process scans its
    // share one file at a time after the same warm-up). The machine's own 2-process scaling at this
    // moment: what the queue's ratio is to be compared with.
    const plain = async (n) => {
      const share = (k) => paths.filter((_, i) => i % n === k);
      const code = `const { scan } = await import(${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)});
        const files = JSON.parse(process.argv[1]);
        for (const f of ${JSON.stringify(warm.slice(0, WARM))}) await scan(f, { hash: true });
        process.stdout.write("ready\\n"); await new Promise((r) => process.stdin.once("data", r));
        for (const f of files) await scan(f, { hash: true }); process.exit(0);`;
      const procs = Array.from({ length: n }, (_, k) =>
        spawn(process.execPath, [...PLAIN_ARGS, "--input-type=module", "-e", code, JSON.stringify(share(k))], {
          stdio: ["pipe", "pipe", "inherit"],
        }),
      );
      await Promise.all(procs.map((p) => new Promise((r) => p.stdout.once("data", r))));
      const t0 = performance.now();
      const exits = procs.map((p) => new Promise((r) => p.once("exit", r)));
      for (const p of procs) p.stdin.write("go\n");
      await Promise.all(exits);
      return paths.length / ((performance.now() - t0) / 1000);
    };
    const base = { 1: 0, 2: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of [1, 2]) base[n] = Math.max(base[n], await plain(n));
    }
    console.log(
      `baseline without the queue (scan() in plain processes, same files, best of ${ROUNDS}): 1 process ${base[1].toFixed(2)} jobs/s, 2 processes ${base[2].toFixed(2)} jobs/s = ${(base[2] / base[1]).toFixed(2)}x`,
    );
    for (const p of [...paths, ...warm]) rmSync(p, { force: true });
    // The goal is judged on the median of the rounds' ratios (each round runs 1 then 2 processes
    // back to back, so slow drifts of the machine's load cancel); best-of is shown beside it.
    const ratio = pct(paired, 50);
    summary.push(
      `CPU-bound: 2 workers = ${ratio.toFixed(2)}x one (median of ${ROUNDS} paired rounds: ${paired.map((x) => x.toFixed(2)).join(", ")}; best runs ${best[2].rate.toFixed(2)} vs ${best[1].rate.toFixed(2)} jobs/s = ${(best[2].rate / best[1].rate).toFixed(2)}x; the workers got ${best[2].got.toFixed(2)} vs ${best[1].got.toFixed(2)} cores; the same scans without the queue ${(base[2] / base[1]).toFixed(2)}x) (goal >= 1.6x) ${ratio >= 1.6 ? "ok" : "MISSED"}`,
    );
  }

  if (phases.has("overhead")) {
    // Enqueue→start overhead: empty files, one worker, BullMQ's own timestamps, one job at a time
    // (so the figure is the queue's own overhead, not a backlog).
    const procs = await startWorkers(1);
    const emptyIds = [];
    const single = [];
    for (const p of files(Math.max(20, Math.round(100 * scale)), () => "")) {
      const t0 = performance.now();
      const { id } = await queue.submit(jobOf(p), identityOf(p, "local"));
      await waitDone(id);
      single.push(done.get(id) - t0);
      emptyIds.push(id);
    }
    console.log(
      `empty scan, submit→completed one at a time: p50 ${pct(single, 50).toFixed(1)} ms, p95 ${pct(single, 95).toFixed(1)} ms`,
    );
    const raw = new Queue("modelgate-scans", { connection: { url } });
    const waits = [];
    const runs = [];
    for (const id of emptyIds) {
      const job = await raw.getJob(id);
      if (job?.processedOn !== undefined) waits.push(job.processedOn - job.timestamp);
      if (job?.finishedOn !== undefined) runs.push(job.finishedOn - job.processedOn);
    }
    await raw.close();
    const p95 = pct(waits, 95);
    console.log(
      `enqueue→start per job (empty scan, 1 worker): p50 ${pct(waits, 50)} ms, p95 ${p95} ms; start→finish p50 ${pct(runs, 50)} ms, p95 ${pct(runs, 95)} ms`,
    );
    summary.push(`queue overhead enqueue→start p95 ${p95} ms (goal <= 10 ms) ${p95 <= 10 ? "ok" : "MISSED"}`);
    await stopWorkers(procs);
  }

  if (phases.has("cache")) {
    // Cache hit rate on a rescan. Local: a folder of distinct files (local files are always
    // analysed: the cache is looked up under digests a listing claims; local scans fill it).
    const procs = await startWorkers(1);
    const folder = join(roots[0], "models");
    mkdirSync(folder);
    for (let i = 0; i < 50; i++)
      writeFileSync(join(folder, `m${i}.json`), JSON.stringify({ model: i, pad: "x".repeat(1000) }));
    const rescan = async (target, kind, options = baseOptions) => {
      const rates = [];
      for (const pass of ["first scan", "rescan"]) {
        const { id } = await queue.submit(jobOf(target, kind, options), identityOf(target, kind));
        await waitDone(id);
        const report = await queue.result(id);
        if (report === undefined) throw new Error(`${target}: no report (${JSON.stringify(await queue.status(id))})`);
        const hits = report.files.filter((f) => f.cached === true).length;
        if (process.env.MODELGATE_BENCH_VERBOSE)
          console.log(
            JSON.stringify(report.files.map((f) => [f.path, f.cached, f.integrity?.status, f.sha256?.slice(0, 8)])),
            JSON.stringify(report.errors),
          );
        if (report.errors.length > 0) {
          // A scan that could not read a file has no hit rate to show: the bench fails.
          process.exitCode = 1;
          console.log(
            `${target}, ${pass}: errors ${JSON.stringify(report.errors.map((e) => `${e.code}: ${e.message}`))}`,
          );
        }
        rates.push({ pass, hits, files: report.files.length, verdict: report.verdict });
        done.delete(id);
      }
      return rates;
    };
    const local = await rescan(folder, "local");
    console.log(
      `verdict cache, 50-file local folder: ${local.map((r) => `${r.pass} ${r.hits}/${r.files} hits`).join(", ")} (local scans fill the cache; their files are read anyway)`,
    );
    await stopWorkers(procs);

    // hf://: the project's fixture Hub (needs Node >= 23 for its TypeScript stand-ins).
    const fixtures = spawn(process.execPath, [join(repo, "scripts", "serve-fixtures.mjs"), "--json"], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: repo,
    });
    try {
      const info = await new Promise((resolve, reject) => {
        let out = "";
        let err = "";
        fixtures.stdout.on("data", (d) => {
          out += d.toString();
          const line = out.split("\n")[0];
          if (out.includes("\n")) resolve(JSON.parse(line));
        });
        fixtures.stderr.on("data", (d) => {
          err += d.toString();
        });
        fixtures.once("exit", (code) => reject(new Error(`serve-fixtures exited ${code}: ${err}`)));
      });
      const env = { ...process.env, ...info.env, HF_TOKEN: "", HF_HUB_OFFLINE: "" };
      // The fixture Hub redirects LFS downloads to its CDN, another loopback origin: a worker
      // follows a redirect to an internal address only when --allow-remote names it.
      const hubProcs = await startWorkers(1, { env, allowRemote: ["hf://", `${info.hubCdn}/`] });
      const target = "hf://acme/tiny-llama";
      // verify "full": every file is read whole, so the LFS file's digest is proven and stored (with
      // "read", the ONNX analyzer reads part of it: nothing is stored under a merely listed digest).
      const hub = await rescan(target, "remote", { ...baseOptions, verify: "full" });
      const r = hub[1];
      console.log(
        `verdict cache, ${target} (fixture Hub, verify full): ${hub.map((x) => `${x.pass} ${x.hits}/${x.files} hits`).join(", ")}` +
          ` (an LFS file is looked up by its listed SHA-256; the small git files have none in the listing, so they are read again)`,
      );
      summary.push(`cache hit rate on an hf:// rescan: ${r.hits}/${r.files}`);
      await stopWorkers(hubProcs);
    } catch (error) {
      console.log(`verdict cache, hf://: skipped (${error.message.split("\n")[0]})`);
    } finally {
      fixtures.kill("SIGTERM");
    }
  }
  if (summary.length > 0) console.log(`summary: ${summary.join("; ")}`);
} finally {
  await queue.close();
  statsClient.disconnect();
  await pump;
  redis.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
