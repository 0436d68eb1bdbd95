/**
 * The fuzz executor: a child process of the supervisor (supervisor.ts) that runs one target's
 * inputs, coverage-guided, until its deadline. Before each input it writes the input to a file so
 * the supervisor can recover it if this process hangs or dies; after each input it checks the peak
 * resident memory. Failures and stats go to the supervisor over IPC.
 *
 * Also runs one saved input on its own (`mode: "replay"`), which the supervisor uses to confirm a
 * failure in a fresh process before saving it.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { type AllocationRecord, guardAllocations } from "./alloc-guard.js";
import { FuzzFailure } from "./check.js";
import { Coverage } from "./coverage.js";
import { digest, execute, Fuzzer, type Outcome } from "./engine.js";
import { type FuzzInput, type FuzzTarget, TARGETS } from "./targets.js";

/** Settings the supervisor passes in `MODELGATE_FUZZ_EXECUTOR` (JSON). */
export interface ExecutorConfig {
  /** Fuzz until the deadline, or run one input. */
  readonly mode: "fuzz" | "replay";
  /** Target name. */
  readonly target: string;
  /** PRNG seed. */
  readonly seed: number;
  /** Epoch milliseconds to stop at. */
  readonly deadline: number;
  /** Where kept inputs are stored (and read back on restart). */
  readonly corpusDir: string;
  /** File the current input is written to before it runs. */
  readonly currentFile: string;
  /** Peak resident memory growth, or single allocation, that counts as a failure (bytes). */
  readonly memoryLimit: number;
  /** For replay: the input file and its scan name. */
  readonly replayFile?: string;
  /** For replay: the scan name. */
  readonly replayName?: string;
}

/** A failure as sent to the supervisor. */
export interface FailureMessage {
  readonly type: "failure";
  readonly kind: FuzzFailure["kind"];
  readonly message: string;
  readonly signature: string;
  readonly stack: string;
  readonly name: string;
  readonly bytes: string;
  readonly ms: number;
}

/** Periodic statistics. */
export interface StatsMessage {
  readonly type: "stats";
  readonly execs: number;
  readonly corpus: number;
  readonly features: number;
  readonly slowestMs: number;
  readonly slowestName: string;
  readonly coverageMs: number;
}

const MAGIC = 0x5a46474d; // "MGFZ"

/** Encodes an input for the current-input file. */
export function encodeCurrent(seq: number, input: FuzzInput): Buffer {
  const name = Buffer.from(input.name, "utf8");
  const out = Buffer.allocUnsafe(16 + name.length + input.bytes.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(seq >>> 0, 4);
  out.writeUInt32LE(name.length, 8);
  out.writeUInt32LE(input.bytes.length, 12);
  name.copy(out, 16);
  out.set(input.bytes, 16 + name.length);
  return out;
}

/** Decodes the current-input file (undefined when it holds nothing valid). */
export function decodeCurrent(buf: Uint8Array): { seq: number; input: FuzzInput } | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 16 || b.readUInt32LE(0) !== MAGIC) return undefined;
  const nameLen = b.readUInt32LE(8);
  const len = b.readUInt32LE(12);
  if (16 + nameLen + len > b.length) return undefined;
  return {
    seq: b.readUInt32LE(4),
    input: {
      name: b.subarray(16, 16 + nameLen).toString("utf8"),
      bytes: new Uint8Array(b.subarray(16 + nameLen, 16 + nameLen + len)),
    },
  };
}

/** Corpus files are `<digest>-<name>`; the scan name is everything after the first dash. */
export function readCorpusDir(dir: string): FuzzInput[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[0-9a-f]{16}-/.test(f))
    .sort()
    .map((f) => ({ name: f.slice(17), bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

/** A file name for an input (`<digest>-<name>`, the name made safe). */
export function inputFileName(input: FuzzInput): string {
  const safe = input.name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80) || "input";
  return `${digest(input.bytes)}-${safe}`;
}

class Executor {
  readonly #config: ExecutorConfig;
  readonly #target: FuzzTarget;
  readonly #fd: number;
  #seq = 0;
  #large: AllocationRecord | undefined;

  constructor(config: ExecutorConfig, target: FuzzTarget) {
    this.#config = config;
    this.#target = target;
    this.#fd = openSync(config.currentFile, "w");
    guardAllocations(config.memoryLimit, (record) => {
      this.#large ??= record;
    });
  }

  /** Runs one input with the memory checks around it. */
  async run(input: FuzzInput): Promise<Outcome> {
    this.#seq++;
    const record = encodeCurrent(this.#seq, input);
    writeSync(this.#fd, record, 0, record.length, 0);
    this.#large = undefined;
    const rssBefore = process.memoryUsage.rss();
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const outcome = await execute(this.#target, input);
    if (outcome.failure !== undefined) return outcome;
    const peakAfter = process.resourceUsage().maxRSS * 1024;
    const limit = this.#config.memoryLimit;
    const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;
    if (this.#large !== undefined) {
      const large: AllocationRecord = this.#large;
      return {
        ms: outcome.ms,
        failure: new FuzzFailure("memory", `one allocation of ${mib(large.bytes)} (limit ${mib(limit)})`, large.stack),
      };
    }
    if (peakAfter > peakBefore && peakAfter - rssBefore > limit) {
      return {
        ms: outcome.ms,
        failure: new FuzzFailure(
          "memory",
          `resident memory grew by ${mib(peakAfter - rssBefore)} (limit ${mib(limit)})`,
        ),
      };
    }
    return outcome;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

function send(message: FailureMessage | StatsMessage | { type: string; [k: string]: unknown }): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, () => resolve());
  });
}

function failureMessage(failure: FuzzFailure, input: FuzzInput, ms: number): FailureMessage {
  return {
    type: "failure",
    kind: failure.kind,
    message: failure.message,
    signature: failure.signature,
    stack: failure.stack ?? "",
    name: input.name,
    bytes: Buffer.from(input.bytes).toString("base64"),
    ms,
  };
}

async function fuzz(config: ExecutorConfig, target: FuzzTarget): Promise<void> {
  const executor = new Executor(config, target);
  mkdirSync(config.corpusDir, { recursive: true });
  const saved = readCorpusDir(config.corpusDir);
  const fuzzer = new Fuzzer(target, config.seed, [...target.seeds(), ...saved]);
  const coverage = new Coverage((url) => url.includes("/modelgate-fuzz/") && url.includes("/src/"));
  let execs = 0;
  let slowest = { ms: 0, name: "" };
  let coverageMs = 0;
  const stats = (): StatsMessage => ({
    type: "stats",
    execs,
    corpus: fuzzer.corpus.length,
    features: coverage.seen.size,
    slowestMs: Math.round(slowest.ms),
    slowestName: slowest.name,
    coverageMs: Math.round(coverageMs),
  });
  const exec = async (input: FuzzInput): Promise<boolean> => {
    const outcome = await executor.run(input);
    execs++;
    if (outcome.ms > slowest.ms) {
      slowest = { ms: outcome.ms, name: input.name };
      // kept for inspection (reports/fuzz/<target>/slowest.bin)
      if (outcome.ms > 500) writeFileSync(join(config.corpusDir, "..", "slowest.bin"), encodeCurrent(0, input));
    }
    if (outcome.failure !== undefined) {
      await send(failureMessage(outcome.failure, input, outcome.ms));
      // a memory high-water mark only resets with the process
      if (outcome.failure.kind === "memory") process.exit(75);
      return false;
    }
    return true;
  };
  const take = () => {
    const t0 = performance.now();
    const f = coverage.take();
    coverageMs += performance.now() - t0;
    return f;
  };
  // The starting corpus sets the baseline features.
  take();
  for (const input of [...fuzzer.corpus]) {
    await exec(input);
    coverage.novel(take(), true);
  }
  await send({ type: "ready", corpus: fuzzer.corpus.length, features: coverage.seen.size });
  let batch = 8;
  let lastStats = Date.now();
  while (Date.now() < config.deadline) {
    const inputs: FuzzInput[] = [];
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) {
      const input = fuzzer.next();
      await exec(input);
      inputs.push(input);
    }
    const execMs = performance.now() - t0;
    const c0 = performance.now();
    const features = take();
    const takeMs = performance.now() - c0;
    if (coverage.novel(features, false) > 0) {
      // Something in the batch reached new code: find which inputs, one by one.
      for (const input of inputs) {
        await exec(input);
        if (coverage.novel(take(), true) > 0 && fuzzer.add(input)) {
          writeFileSync(join(config.corpusDir, inputFileName(input)), input.bytes);
        }
      }
    }
    // Batch size keeps coverage collection near a fifth of the time.
    const perExec = execMs / inputs.length;
    batch = Math.max(1, Math.min(64, Math.ceil((5 * takeMs) / Math.max(perExec, 0.05))));
    if (Date.now() - lastStats > 5000) {
      lastStats = Date.now();
      await send(stats());
    }
  }
  await send(stats());
  coverage.close();
  executor.close();
}

async function replay(config: ExecutorConfig, target: FuzzTarget): Promise<void> {
  const executor = new Executor(config, target);
  // Warm up (modules, caches) so the input's own cost is what is measured.
  for (const seed of target.seeds().slice(0, 8)) await execute(target, seed);
  (globalThis as { gc?: () => void }).gc?.();
  const input: FuzzInput = {
    name: config.replayName ?? "input",
    bytes: new Uint8Array(readFileSync(config.replayFile ?? "")),
  };
  const outcome = await executor.run(input);
  executor.close();
  const f = outcome.failure;
  process.stdout.write(
    `${JSON.stringify({
      ms: outcome.ms,
      failure:
        f === undefined ? null : { kind: f.kind, message: f.message, signature: f.signature, stack: f.stack ?? "" },
    })}\n`,
  );
}

const config = JSON.parse(process.env.MODELGATE_FUZZ_EXECUTOR ?? "null") as ExecutorConfig | null;
if (config !== null) {
  const target = TARGETS.get(config.target);
  if (target === undefined) throw new Error(`unknown target ${config.target}`);
  await (config.mode === "replay" ? replay(config, target) : fuzz(config, target));
  // Readers may leave timers or sockets behind; the run is over.
  process.exit(0);
}
