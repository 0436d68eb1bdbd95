/**
 * The mutational engine shared by the long run (executor.ts) and the fixed-seed slice in
 * `npm test`: a corpus, parent scheduling, mutation and one-input execution.
 */
import { createHash } from "node:crypto";
import { FuzzFailure } from "./check.js";
import { mutate } from "./mutate.js";
import { Rng } from "./rng.js";
import type { FuzzInput, FuzzTarget } from "./targets.js";

/** Result of running one input. */
export interface Outcome {
  /** Set when the input failed. */
  readonly failure: FuzzFailure | undefined;
  /** Wall-clock milliseconds. */
  readonly ms: number;
}

/**
 * Runs one input through its target; anything thrown that is not a {@link FuzzFailure} is a crash
 * of the harness call itself.
 * @param target - the target
 * @param input - the input
 */
export async function execute(target: FuzzTarget, input: FuzzInput): Promise<Outcome> {
  const t0 = performance.now();
  let failure: FuzzFailure | undefined;
  try {
    await target.run(input);
  } catch (error) {
    if (error instanceof FuzzFailure) failure = error;
    else {
      const e = error instanceof Error ? error : new Error(String(error));
      failure = new FuzzFailure("crash", `${e.name}: ${e.message}`, e.stack);
    }
  }
  return { failure, ms: performance.now() - t0 };
}

/** A content hash for file names. */
export function digest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** Corpus and mutant generation for one target. */
export class Fuzzer {
  /** The inputs kept so far (seeds first). */
  readonly corpus: FuzzInput[] = [];
  readonly #known = new Set<string>();
  readonly #rng: Rng;
  readonly #target: FuzzTarget;

  /**
   * @param target - the target
   * @param seed - PRNG seed: the same seed and corpus give the same mutants
   * @param inputs - starting corpus (seeds, saved corpus)
   */
  constructor(target: FuzzTarget, seed: number, inputs: readonly FuzzInput[]) {
    this.#target = target;
    this.#rng = new Rng(seed);
    for (const input of inputs) this.add(input);
    if (this.corpus.length === 0) this.add({ name: `empty.${target.name}`, bytes: new Uint8Array(0) });
  }

  /** Keeps an input (duplicates are ignored); returns whether it was new. */
  add(input: FuzzInput): boolean {
    const key = `${input.name}\0${digest(input.bytes)}`;
    if (this.#known.has(key)) return false;
    this.#known.add(key);
    this.corpus.push(input);
    return true;
  }

  /**
   * The next mutant: a parent (recent entries favoured), a structure-aware change and/or 1–8
   * stacked byte mutations, maybe a fix-up.
   */
  next(): FuzzInput {
    const rng = this.#rng;
    const n = this.corpus.length;
    const parent = rng.chance(0.4)
      ? (this.corpus[n - 1 - rng.below(Math.min(n, 32))] as FuzzInput)
      : rng.pick(this.corpus);
    const structured =
      this.#target.structured !== undefined && rng.chance(0.35)
        ? this.#target.structured(parent.bytes, rng)
        : undefined;
    let bytes =
      structured !== undefined && rng.chance(0.7)
        ? structured
        : mutate(structured ?? parent.bytes, rng, {
            dictionary: this.#target.dictionary,
            others: () => rng.pick(this.corpus).bytes,
            maxSize: this.#target.maxSize,
          });
    if (this.#target.fixup !== undefined && rng.chance(0.5)) bytes = this.#target.fixup(bytes, rng);
    // now and then the same bytes under another input's name: the sniffer takes names as hints
    const name = rng.chance(0.05) ? rng.pick(this.corpus).name : parent.name;
    return { name, bytes };
  }
}
