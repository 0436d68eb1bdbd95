/**
 * Coverage feedback from V8's own block coverage (the inspector's precise coverage), so the fuzzer
 * keeps mutants that reach new code without instrumenting anything. Counts are reset by every
 * {@link Coverage.take}; a feature is a (block, hit-count bucket) pair, or a block seen uncovered
 * before and covered now.
 */
import { Session } from "node:inspector";

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
}
interface ScriptCoverage {
  url: string;
  functions: FunctionCoverage[];
}

const bucket = (n: number): number => (n <= 3 ? n : n <= 7 ? 4 : n <= 15 ? 5 : n <= 31 ? 6 : n <= 127 ? 7 : 8);

/** Block coverage of the scripts whose URL passes a filter. */
export class Coverage {
  readonly #session = new Session();
  readonly #filter: (url: string) => boolean;
  /** Every feature seen so far. */
  readonly seen = new Set<string>();
  /** Per function: blocks seen with a zero count. */
  readonly #zero = new Map<string, Set<string>>();

  /** @param filter - which script URLs count (the library's own modules) */
  constructor(filter: (url: string) => boolean) {
    this.#filter = filter;
    this.#session.connect();
    this.#post("Profiler.enable");
    this.#post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  }

  #post(method: string, params?: object): unknown {
    let result: unknown;
    let failure: Error | null = null;
    // A session on the same thread answers synchronously.
    this.#session.post(method, params ?? {}, (error, value) => {
      failure = error;
      result = value;
    });
    if (failure !== null) throw failure;
    return result;
  }

  /** Features hit since the last call (counts are reset by it). */
  take(): string[] {
    const { result } = this.#post("Profiler.takePreciseCoverage") as { result: ScriptCoverage[] };
    const features: string[] = [];
    for (const script of result) {
      if (!this.#filter(script.url)) continue;
      const file = script.url.slice(script.url.lastIndexOf("/src/") + 5);
      for (const fn of script.functions) {
        const top = fn.ranges[0];
        if (top === undefined || top.count === 0) continue;
        const fkey = `${file}:${top.startOffset}`;
        features.push(`f:${fkey}:${bucket(top.count)}`);
        const zeroNow = new Set<string>();
        for (let i = 1; i < fn.ranges.length; i++) {
          const r = fn.ranges[i] as Range;
          const key = `${r.startOffset}-${r.endOffset}`;
          if (r.count === 0) zeroNow.add(key);
          else features.push(`b:${fkey}:${key}:${bucket(r.count)}`);
        }
        let zero = this.#zero.get(fkey);
        if (zero === undefined) {
          zero = new Set();
          this.#zero.set(fkey, zero);
        }
        for (const key of zero) if (!zeroNow.has(key)) features.push(`c:${fkey}:${key}`);
        for (const key of zeroNow) zero.add(key);
      }
    }
    return features;
  }

  /** How many of `features` are new; with `commit`, they are remembered. */
  novel(features: readonly string[], commit: boolean): number {
    let n = 0;
    for (const f of features) {
      if (this.seen.has(f)) continue;
      n++;
      if (commit) this.seen.add(f);
    }
    return n;
  }

  /** Stops collecting. */
  close(): void {
    try {
      this.#post("Profiler.stopPreciseCoverage");
    } finally {
      this.#session.disconnect();
    }
  }
}
