/**
 * Differential testing of the pickle engine against CPython. CPython's side comes from
 * python/recorder.py (the C unpickler with a recording `find_class`); modelgate's side from
 * `analyzePickleStream`. A stream fails when CPython imported or called something modelgate did
 * not report.
 *
 * How CPython's events map onto what modelgate reports:
 * - `import m.n` → a reference named `m.n` (any origin: GLOBAL, STACK_GLOBAL, INST, EXT).
 * - `call`/`new` of a name `m.n` CPython imported → calls recorded on `m.n`.
 * - `call`/`new` of something reached from a call's result (`m.n().x`, `m.n()()`): CPython invokes
 *   code of whatever `m.n` returned; modelgate must have recorded the call of `m.n` itself, and, when
 *   the result is called again (`m.n()(...)`), must have either resolved it to a name that was
 *   called or flagged a dynamic call.
 * - `call` of a method of a global (`m.n.extend`, `m.n.__setitem__`: APPENDS/SETITEMS on the global
 *   itself) and `build` of a global → modelgate records the global as mutated (or a monkey-patch).
 * - `persid` → a persistent-id event (outside torch contexts).
 * The order of first imports is compared too; a different order is reported, not a failure.
 * When modelgate stops with an error (the stream is then `invalid`), CPython's events after that
 * opcode are counted apart, not compared.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { analyzePickleStream } from "../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../src/formats/pickle/input.js";
import { BufferSource } from "../../src/sources/byte-source.js";
import { REPO_ROOT } from "./targets.js";

/**
 * One thing CPython's unpickler did; `pos` is how many bytes it had read (end of the opcode or its
 * FRAME; -1 for events only the reading through a file with `peek` had), `load` which of the
 * concatenated pickles it was in.
 */
export type CpythonEvent = { readonly pos: number; readonly load: number } & (
  | { readonly op: "import"; readonly module: string; readonly name: string; readonly patched?: string }
  | {
      readonly op: "call" | "new";
      readonly callee: string;
      readonly args: readonly string[];
      readonly kwargs: readonly string[];
    }
  | { readonly op: "build"; readonly target: string; readonly state: string }
  | { readonly op: "persid"; readonly pid: string }
) & { readonly reading?: "peek" };

/** What CPython saw for one stream. */
export interface CpythonRecord {
  /** Events in order. */
  readonly events: readonly CpythonEvent[];
  /** The exception that ended unpickling, if any (events before it still happened). */
  readonly error: string | null;
  /** Pickles loaded completely. */
  readonly loads: number;
}

/** The interpreter to record with: `MODELGATE_PYTHON`, `/usr/bin/python3`, then `python3` on PATH. */
export function findPython(): string | undefined {
  const candidates = [process.env.MODELGATE_PYTHON, "/usr/bin/python3", "python3"].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  for (const p of candidates) {
    if (p.includes("/") && !existsSync(p)) continue;
    const r = spawnSync(p, ["-c", "import pickle, sys; assert sys.version_info >= (3, 8)"], { stdio: "ignore" });
    if (r.status === 0) return p;
  }
  return undefined;
}

/** A long-lived recorder process. */
export class CpythonRecorder {
  readonly #child: ChildProcess;
  #buffer = "";
  readonly #waiting: Array<(r: CpythonRecord) => void> = [];
  #failed: Error | undefined;

  /** @param python - interpreter path */
  constructor(python: string) {
    this.#child = spawn(python, [`${REPO_ROOT}/test/fuzz/python/recorder.py`], { stdio: ["pipe", "pipe", "pipe"] });
    // CPython prints this itself (bytearray_dealloc calls PyErr_Print) when a stream frees a
    // bytearray a PickleBuffer still exports; it is not an event and would flood the run's output.
    this.#child.stderr?.setEncoding("utf8");
    this.#child.stderr?.on("data", (d: string) => {
      const kept = d
        .split("\n")
        .filter((l) => l !== "" && l !== "SystemError: deallocated bytearray object has exported buffers");
      if (kept.length > 0) process.stderr.write(`${kept.join("\n")}\n`);
    });
    this.#child.stdout?.setEncoding("utf8");
    this.#child.stdout?.on("data", (d: string) => {
      this.#buffer += d;
      for (let nl = this.#buffer.indexOf("\n"); nl >= 0; nl = this.#buffer.indexOf("\n")) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        this.#waiting.shift()?.(JSON.parse(line) as CpythonRecord);
      }
    });
    this.#child.on("exit", (code) => {
      this.#failed = new Error(`recorder exited with ${code}`);
    });
  }

  /**
   * Records one stream.
   * @param bytes - the stream
   * @param timeoutMs - rejects (and ends the process) when CPython takes longer
   */
  record(bytes: Uint8Array, timeoutMs = 60_000): Promise<CpythonRecord> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(bytes.length);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#failed = new Error(`CPython took more than ${timeoutMs} ms`);
        this.#child.kill("SIGKILL");
        reject(this.#failed);
      }, timeoutMs);
      this.#waiting.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.#child.stdin?.write(Buffer.concat([head, bytes]));
    });
  }

  /** Ends the process. */
  close(): void {
    this.#child.stdin?.end();
    this.#child.stdin?.on("error", () => undefined);
  }
}

/** What modelgate reported, reduced to names. */
export interface ModelgateView {
  /** Referenced names in first-reference order, with how they were obtained. */
  readonly refs: ReadonlyMap<
    string,
    { origin: string; calls: number; mutated: boolean; resolvedTo: readonly string[] }
  >;
  /** Names imported by an opcode (GLOBAL, STACK_GLOBAL, INST, EXT), in order. */
  readonly imports: readonly string[];
  /** Event kinds seen (dynamic-call, persistent-id, ext-unregistered, monkeypatch ...). */
  readonly events: ReadonlySet<string>;
  /** Whether the analysis could not finish the stream. */
  readonly invalid: boolean;
  /** Pickles analysed (the first, then every one that follows it). */
  readonly runs: number;
  /** Offset of the opcode where an error ended the analysis (the stream is then `invalid`). */
  readonly stoppedAt: number | undefined;
  /** Why. */
  readonly stopReason: string | undefined;
}

/** Runs modelgate's pickle engine over a stream (plain pickle context, concatenated pickles). */
export async function modelgateView(bytes: Uint8Array): Promise<ModelgateView> {
  const analysis = await analyzePickleStream(new SourceInput(new BufferSource(bytes), 0), { context: "pickle" });
  const refs = new Map<string, { origin: string; calls: number; mutated: boolean; resolvedTo: string[] }>();
  const imports: string[] = [];
  const events = new Set<string>();
  // both readings: pickle.loads / real files, and io.BytesIO when they differ
  for (const run of [...analysis.runs, ...(analysis.unpeekable?.runs ?? [])]) {
    for (const [name, site] of run.machine.refs) {
      const prev = refs.get(name);
      const calls = (prev?.calls ?? 0) + site.callCount;
      refs.set(name, {
        origin: prev?.origin ?? site.origin,
        calls,
        mutated: (prev?.mutated ?? false) || site.mutated,
        resolvedTo: [...(prev?.resolvedTo ?? []), ...site.resolvedTo],
      });
      if (site.origin !== "resolver" && site.origin !== "patched" && !imports.includes(name)) imports.push(name);
    }
    for (const e of run.machine.events) events.add(e.kind);
  }
  const last = analysis.runs[analysis.runs.length - 1];
  return {
    refs,
    imports,
    events,
    invalid: analysis.invalid,
    runs: analysis.runs.length,
    stoppedAt: last?.error?.offset,
    stopReason: last?.error?.message,
  };
}

/** Differences that make a stream fail, and the ones only reported. */
export interface Comparison {
  /** What CPython did that modelgate did not report. */
  readonly missing: string[];
  /** CPython's import order is not modelgate's. */
  readonly orderDiffers: boolean;
  /**
   * CPython events after the opcode where modelgate stopped with an error (the file is `invalid`,
   * never clean), or in pickles after the first that modelgate took for trailing data (reported as
   * `pickle/trailing-data`). Not failures: the recording stubs accept calls a real callee would
   * refuse (numpy's `_reconstruct` of a non-type), so CPython's events past that point may not
   * happen for real, and `pickle.load` reads one pickle.
   */
  readonly afterStop: number;
}

/** Whether the stream patched the name or one of its prefixes (modelgate then follows the planted value). */
function patchedPrefix(name: string, mg: ModelgateView): boolean {
  for (let cut = name.lastIndexOf("."); cut > 0; cut = name.lastIndexOf(".", cut - 1)) {
    if (mg.refs.get(name.slice(0, cut))?.mutated === true) return true;
  }
  return false;
}

/** The imported name a stub's qualified name starts from (the longest imported prefix). */
function rootOf(qualified: string, imported: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  for (const name of imported) {
    if (
      (qualified === name || qualified.startsWith(`${name}.`) || qualified.startsWith(`${name}(`)) &&
      (best === undefined || name.length > best.length)
    ) {
      best = name;
    }
  }
  return best;
}

/**
 * Compares CPython's record with modelgate's view of the same stream.
 * @param cp - CPython's events
 * @param mg - modelgate's report
 */
export function compare(cp: CpythonRecord, mg: ModelgateView): Comparison {
  const missing: string[] = [];
  const imported = new Set<string>();
  const order: string[] = [];
  const calledByModelgate = (name: string) => {
    const r = mg.refs.get(name);
    return r !== undefined && (r.calls > 0 || r.resolvedTo.length > 0);
  };
  let afterStop = 0;
  for (const e of cp.events) {
    // after modelgate's error, or in bytes modelgate took for trailing data (reported as such)
    // (pos -1: an event only the reading through a file with peek had; its position is unknown)
    const after = mg.stoppedAt !== undefined && (e.pos > mg.stoppedAt || e.pos < 0);
    if (after || e.load >= mg.runs) {
      afterStop++;
      continue;
    }
    if (e.op === "import") {
      const name = `${e.module}.${e.name}`;
      imported.add(name);
      if (!order.includes(name)) order.push(name);
      if (!mg.refs.has(name) && !patchedPrefix(name, mg)) missing.push(`import ${name}`);
    } else if (e.op === "call" || e.op === "new") {
      const root = rootOf(e.callee, imported);
      if (root === undefined) {
        // persistent_load() results: covered by the persistent-id event
        if (e.callee.startsWith("persistent_load()")) {
          if (!mg.events.has("persistent-id")) missing.push(`${e.op} ${e.callee} (persistent id not reported)`);
        } else missing.push(`${e.op} ${e.callee} (from nothing imported)`);
        continue;
      }
      const rest = e.callee.slice(root.length);
      if (rest === "") {
        if (!calledByModelgate(root)) missing.push(`${e.op} ${root}`);
      } else if (!rest.startsWith("(")) {
        // a method of the global itself (APPENDS/SETITEMS on a class or function object)
        const r = mg.refs.get(root);
        if (!(r?.mutated === true || mg.events.has("monkeypatch") || calledByModelgate(root))) {
          missing.push(`${e.op} ${e.callee} (global used as a container)`);
        }
      } else {
        if (!calledByModelgate(root)) missing.push(`${e.op} ${e.callee} (call of ${root} not reported)`);
        else if (/^\(\)(\.__new__\(\))?\(\)$/.test(rest) || rest.endsWith("()()")) {
          // the result of a call is called in turn
          const resolved = [...mg.refs.values()].some((r) => r.origin === "resolver" && r.calls > 0);
          if (!resolved && !mg.events.has("dynamic-call"))
            missing.push(`${e.op} ${e.callee} (call of a call's result)`);
        }
      }
    } else if (e.op === "build") {
      if (!e.target.includes("(")) {
        const r = mg.refs.get(e.target);
        if (!(r?.mutated === true || mg.events.has("monkeypatch")))
          missing.push(`build ${e.target} (state set on a global)`);
      }
    } else if (e.op === "persid") {
      if (!mg.events.has("persistent-id")) missing.push("persistent id");
    }
  }
  const mgOrder = mg.imports.filter((n) => imported.has(n));
  const orderDiffers = mgOrder.join("\n") !== order.filter((n) => mgOrder.includes(n)).join("\n");
  return { missing: [...new Set(missing)], orderDiffers, afterStop };
}
