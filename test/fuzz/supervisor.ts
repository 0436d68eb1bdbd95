/**
 * Supervises one target for a fixed time: runs the executor (executor.ts) in a child process with a
 * V8 heap cap, watches it (an input that does not finish within `hangMs` is a hang; the process
 * dying is a failure of the input it was running), restarts it after a failure, confirms every new
 * failure by replaying its input in a fresh process, and saves confirmed ones as regression
 * samples under `test/fuzz/regressions/<target>/`. Prints one JSON summary line at the end.
 */
import { type ChildProcess, fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  decodeCurrent,
  type ExecutorConfig,
  type FailureMessage,
  inputFileName,
  type StatsMessage,
} from "./executor.js";
import type { FuzzInput } from "./targets.js";

/** Settings passed in `MODELGATE_FUZZ_SUPERVISOR` (JSON). */
export interface SupervisorConfig {
  readonly target: string;
  readonly seed: number;
  readonly seconds: number;
  readonly hangMs: number;
  readonly memoryLimit: number;
  /** V8 old-space cap of the executor, MiB. */
  readonly heapMb: number;
  /** reports/fuzz/<target>: corpus, current input, summary. */
  readonly workDir: string;
  /** test/fuzz/regressions/<target>. */
  readonly regressionsDir: string;
}

/** One entry of a target's `index.json` in the regressions folder. */
export interface RegressionEntry {
  readonly kind: string;
  readonly signature: string;
  readonly message: string;
  readonly found: string;
}

/** What a run reports. */
export interface TargetSummary {
  target: string;
  seconds: number;
  execs: number;
  corpus: number;
  features: number;
  restarts: number;
  slowestMs: number;
  slowestName: string;
  /** Failures confirmed and saved in this run. */
  saved: Array<{ file: string; kind: string; message: string }>;
  /** Failures whose signature was already saved (or saved earlier in the run). */
  duplicates: number;
  /** Failures that did not reproduce in a fresh process. */
  flaky: Array<{ kind: string; message: string }>;
}

const EXECUTOR = fileURLToPath(new URL("./executor.js", import.meta.url));

interface Replay {
  ms: number;
  failure: { kind: string; message: string; signature: string; stack: string } | null;
}

class Supervisor {
  readonly #c: SupervisorConfig;
  readonly #signatures = new Set<string>();
  readonly #index: Record<string, RegressionEntry>;
  readonly #indexPath: string;
  readonly summary: TargetSummary;
  #confirming: Promise<void> = Promise.resolve();
  #replays = 0;

  constructor(c: SupervisorConfig) {
    this.#c = c;
    mkdirSync(c.workDir, { recursive: true });
    this.#indexPath = join(c.regressionsDir, "index.json");
    this.#index = existsSync(this.#indexPath)
      ? (JSON.parse(readFileSync(this.#indexPath, "utf8")) as Record<string, RegressionEntry>)
      : {};
    for (const e of Object.values(this.#index)) this.#signatures.add(e.signature);
    this.summary = {
      target: c.target,
      seconds: 0,
      execs: 0,
      corpus: 0,
      features: 0,
      restarts: 0,
      slowestMs: 0,
      slowestName: "",
      saved: [],
      duplicates: 0,
      flaky: [],
    };
  }

  #executorConfig(extra: Partial<ExecutorConfig>): ExecutorConfig {
    return {
      mode: "fuzz",
      target: this.#c.target,
      seed: this.#c.seed + this.summary.restarts * 7919,
      deadline: 0,
      corpusDir: join(this.#c.workDir, "corpus"),
      currentFile: join(this.#c.workDir, "current.bin"),
      memoryLimit: this.#c.memoryLimit,
      ...extra,
    };
  }

  #spawn(config: ExecutorConfig, stdout: "inherit" | "pipe"): ChildProcess {
    return fork(EXECUTOR, [], {
      execArgv: [`--max-old-space-size=${this.#c.heapMb}`, "--enable-source-maps", "--expose-gc"],
      env: { ...process.env, MODELGATE_FUZZ_EXECUTOR: JSON.stringify(config) },
      stdio: ["ignore", stdout, "inherit", "ipc"],
      serialization: "advanced",
    });
  }

  /** Runs the input alone in a fresh process; `undefined` failure means it passed. */
  #replay(input: FuzzInput, kind: string): Promise<Replay> {
    const n = this.#replays++;
    const file = join(this.#c.workDir, `replay-${n}.bin`);
    writeFileSync(file, input.bytes);
    const child = this.#spawn(
      this.#executorConfig({
        mode: "replay",
        replayFile: file,
        replayName: input.name,
        currentFile: join(this.#c.workDir, `replay-${n}.current`),
      }),
      "pipe",
    );
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const limit = this.#c.hangMs * 1.5 + 10_000;
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), limit);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        const line = out.trim().split("\n").pop() ?? "";
        if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as Replay);
        else if (signal === "SIGKILL") {
          const message = `replay did not finish within ${Math.round(limit / 1000)} s`;
          resolve({ ms: limit, failure: { kind: "hang", message, signature: `hang: ${kind}`, stack: "" } });
        } else {
          const message = `replay process exited with ${signal ?? code}`;
          resolve({ ms: 0, failure: { kind: "exit", message, signature: "exit", stack: "" } });
        }
      });
    });
  }

  /** Confirms a failure by replay and saves it (queued: one replay at a time). */
  failure(kind: string, message: string, signature: string, input: FuzzInput): void {
    if (this.#signatures.has(signature)) {
      this.summary.duplicates++;
      return;
    }
    this.#signatures.add(signature);
    this.#confirming = this.#confirming.then(async () => {
      const r = await this.#replay(input, kind);
      const reproduced =
        r.failure !== null &&
        (r.failure.kind === kind ||
          // a process that died or hung may show as the same failure caught in-process
          ((kind === "exit" || kind === "hang") && ["memory", "timeout", "hang", "exit"].includes(r.failure.kind)));
      if (!reproduced) {
        this.summary.flaky.push({ kind, message });
        mkdirSync(join(this.#c.workDir, "flaky"), { recursive: true });
        writeFileSync(join(this.#c.workDir, "flaky", inputFileName(input)), input.bytes);
        return;
      }
      mkdirSync(this.#c.regressionsDir, { recursive: true });
      const file = inputFileName(input);
      writeFileSync(join(this.#c.regressionsDir, file), input.bytes);
      this.#index[file] = {
        kind,
        signature,
        message: (r.failure?.message ?? message).slice(0, 500),
        found: new Date().toISOString().slice(0, 10),
      };
      writeFileSync(this.#indexPath, `${JSON.stringify(this.#index, null, 2)}\n`);
      this.summary.saved.push({ file, kind, message: message.slice(0, 300) });
      process.stderr.write(`[${this.#c.target}] saved ${kind}: ${message.slice(0, 200)}\n${r.failure?.stack ?? ""}\n`);
    });
  }

  /** The executor running now (killed with the supervisor). */
  current: ChildProcess | undefined;

  /** One executor lifetime; resolves when it exits. */
  #runOnce(deadline: number): Promise<void> {
    const config = this.#executorConfig({ deadline });
    const child = this.#spawn(config, "inherit");
    this.current = child;
    let lastStats: StatsMessage | undefined;
    let hung = false;
    let lastSeq = -1;
    let lastChange = Date.now();
    const poll = setInterval(() => {
      let seq = -1;
      try {
        seq = decodeCurrent(readFileSync(config.currentFile))?.seq ?? -1;
      } catch {
        // not written yet
      }
      const now = Date.now();
      if (seq !== lastSeq) {
        lastSeq = seq;
        lastChange = now;
      } else if (now - lastChange > this.#c.hangMs || now > deadline + 60_000) {
        hung = true;
        child.kill("SIGKILL");
      }
    }, 250);
    child.on("message", (m: FailureMessage | StatsMessage | { type: "ready" }) => {
      if (m.type === "stats") lastStats = m as StatsMessage;
      else if (m.type === "failure") {
        const f = m as FailureMessage;
        const input = { name: f.name, bytes: new Uint8Array(Buffer.from(f.bytes, "base64")) };
        this.failure(f.kind, f.message, f.signature, input);
      }
    });
    return new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        clearInterval(poll);
        const s = this.summary;
        if (lastStats !== undefined) {
          s.execs += lastStats.execs;
          s.corpus = Math.max(s.corpus, lastStats.corpus);
          s.features = Math.max(s.features, lastStats.features);
          if (lastStats.slowestMs > s.slowestMs) {
            s.slowestMs = lastStats.slowestMs;
            s.slowestName = lastStats.slowestName;
          }
        }
        if (code !== 0) {
          s.restarts++;
          let current: FuzzInput | undefined;
          try {
            current = decodeCurrent(readFileSync(config.currentFile))?.input;
          } catch {
            current = undefined;
          }
          if (code !== 75 && current !== undefined) {
            if (hung) this.failure("hang", `no progress for ${this.#c.hangMs} ms`, "hang", current);
            else this.failure("exit", `executor exited with ${signal ?? code}`, `exit: ${signal ?? code}`, current);
          }
        }
        resolve();
      });
    });
  }

  async run(): Promise<TargetSummary> {
    const t0 = Date.now();
    const deadline = t0 + this.#c.seconds * 1000;
    while (Date.now() < deadline - 1000 && this.summary.restarts < 200) await this.#runOnce(deadline);
    await this.#confirming;
    this.summary.seconds = Math.round((Date.now() - t0) / 1000);
    writeFileSync(join(this.#c.workDir, "summary.json"), `${JSON.stringify(this.summary, null, 2)}\n`);
    return this.summary;
  }
}

const config = JSON.parse(process.env.MODELGATE_FUZZ_SUPERVISOR ?? "null") as SupervisorConfig | null;
if (config !== null) {
  const supervisor = new Supervisor(config);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      supervisor.current?.kill("SIGKILL");
      process.exit(130);
    });
  }
  const summary = await supervisor.run();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
