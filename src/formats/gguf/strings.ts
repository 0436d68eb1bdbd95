/**
 * Kept metadata strings of a GGUF header, under budgets: the total of string bytes kept across all
 * key/values (a sparse file of many large values once kept 8 MiB per key, gigabytes in all), long
 * keys kept as a digest, string arrays (a template key's array kept whole up to the template
 * budget, since a loader may render any element), and single-element lookups in the vocabulary
 * (the special tokens a chat template receives) without keeping it.
 * @module
 */
import { createHash } from "node:crypto";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { Cursor } from "./cursor.js";
import type { GgufHeader, GgufIssue, GgufKeyValue, GgufReadOptions } from "./reader.js";

/** Each kept array element also costs this much of the total (so empty elements are not free). */
const ELEMENT_COST = 16;
/** Keys longer than this are kept as a prefix and a digest of the whole key. */
const MAX_KEPT_KEY = 256;
/** The token array records the offset of every this-many-th element (for {@link readGgufArrayStrings}). */
const INDEX_STEP = 256;
/** Read window of {@link readGgufArrayStrings}: its walks skip strings, so it reads small windows. */
const LOOKUP_WINDOW = 16 * 1024;
/** Longest element {@link readGgufArrayStrings} returns by default. */
const LOOKUP_STRING = 4096;

/** Where structural issues go; `stop` records one and ends the parse. */
export interface IssueSink {
  stop(issue: GgufIssue): never;
}

/** The total of string bytes the parse may still keep, and what it could not keep. */
export class KeepBudget {
  remaining: number;
  readonly limit: number;
  /** Values not kept, or cut, because of the total. */
  dropped = 0;
  first: { key: string; offset: number } | undefined;

  constructor(limit: number) {
    this.limit = limit;
    this.remaining = limit;
  }

  /** How many of `want` bytes may be kept. */
  grant(want: number): number {
    return Math.max(0, Math.min(want, this.remaining));
  }

  spend(n: number): void {
    this.remaining = Math.max(0, this.remaining - n);
  }

  /** Records a value the total cut or left out. */
  drop(key: string, offset: number): void {
    this.dropped++;
    this.first ??= { key, offset };
  }

  /** The issue saying what was not kept, if anything. */
  issue(): GgufIssue | undefined {
    if (this.first === undefined) return undefined;
    return {
      ruleId: "scan/budget-exceeded",
      message: `${this.dropped} metadata value(s) were cut or not kept once ${this.limit} bytes of strings were kept (first: "${preview(this.first.key)}"); they were not analysed`,
      offset: this.first.offset,
      evidence: { budget: "maxKeptBytes", limit: this.limit, values: this.dropped, key: preview(this.first.key) },
    };
  }
}

/**
 * The key as kept: itself up to {@link MAX_KEPT_KEY} bytes, else a prefix and a digest of the
 * whole key (distinct keys stay distinct for the duplicate check; a 64 KiB key costs no more
 * than a short one, whatever the number of keys).
 */
export function keptKey(s: string, n: number): string {
  if (n <= MAX_KEPT_KEY) return s;
  const digest = createHash("sha256").update(s).digest("hex");
  // Through a Buffer so the prefix is a new string, not a slice pinning the whole key.
  const prefix = Buffer.from(s.slice(0, 64)).toString("utf8");
  return `${prefix}…[${n} bytes, sha256 ${digest}]`;
}

/** The key up to its first NUL: what C loaders compare (`strcmp`) when they look a key up. */
export function cKey(key: string): string {
  const nul = key.indexOf("\0");
  return nul === -1 ? key : key.slice(0, nul);
}

/** What {@link readStringArray} keeps of an array. */
export interface StringArrayPlan {
  readonly key: string;
  readonly offset: number;
  readonly length: number;
  /** Most elements kept (0: none), most bytes kept in all, most bytes kept of one element. */
  readonly keep: { readonly elements: number; readonly bytes: number; readonly each: number };
  /** Record {@link GgufKeyValue.elementOffsets}. */
  readonly index: boolean;
  /** A template key: cut elements make the value `truncated`. */
  readonly template: boolean;
}

export async function readStringArray(
  c: Cursor,
  options: GgufReadOptions,
  issues: IssueSink,
  budget: KeepBudget,
  plan: StringArrayPlan,
): Promise<{ values?: string[]; truncated: boolean; elementOffsets?: number[] }> {
  const values: string[] | undefined = plan.keep.elements > 0 ? [] : undefined;
  const elementOffsets: number[] | undefined = plan.index ? [] : undefined;
  let bytesLeft = plan.keep.bytes;
  let truncated = false;
  let dropped = false;
  let full = false;
  for (let i = 0; i < plan.length; i++) {
    if ((i & 0xffff) === 0xffff) options.checkpoint?.();
    if (elementOffsets !== undefined && i % INDEX_STEP === 0) elementOffsets.push(c.pos);
    if (!c.has(c.lenSize)) await c.fill(c.lenSize);
    const at = c.pos;
    const n = c.len();
    if (n > c.remaining) {
      issues.stop({
        ruleId: "gguf/malformed",
        message: `element ${i} of "${preview(plan.key)}" declares ${Number.isFinite(n) ? n : "> 2^53"} bytes, more than the file holds`,
        offset: at,
        evidence: { key: preview(plan.key), index: i },
      });
    }
    if (values === undefined || full) {
      c.pos += n;
      continue;
    }
    // Kept elements are a prefix of the array: past the first one not kept whole, none is kept.
    const own = Math.min(n, plan.keep.each, bytesLeft);
    const granted = budget.grant(own + ELEMENT_COST) - ELEMENT_COST;
    if (values.length >= plan.keep.elements || granted < 0) {
      if (granted < 0) dropped = true;
      truncated = true;
      full = true;
      c.pos += n;
      continue;
    }
    const k = Math.min(own, granted);
    if (k < own) dropped = true;
    if (k < n) {
      truncated = true;
      full = plan.template;
    }
    await c.fill(k);
    values.push(c.text(k));
    c.pos += n - k;
    bytesLeft -= k;
    budget.spend(k + ELEMENT_COST);
  }
  if (dropped) budget.drop(plan.key, plan.offset);
  return {
    ...(values === undefined ? {} : { values }),
    truncated: plan.template && truncated,
    ...(elementOffsets === undefined ? {} : { elementOffsets }),
  };
}

/**
 * Reads single elements of a string array the header recorded offsets for
 * ({@link GgufKeyValue.elementOffsets}, the vocabulary): each walk skips at most 255 elements, so
 * the cost does not depend on the vocabulary size. Elements longer than `maxBytes` are left out.
 * @param source - the file, as given to {@link readGgufHeader}
 * @param header - its header
 * @param kv - the array
 * @param indices - element indices wanted (out-of-range ones are left out)
 * @param maxBytes - longest element returned (default 4096)
 * @returns index → text
 */
export async function readGgufArrayStrings(
  source: ByteSource,
  header: GgufHeader,
  kv: GgufKeyValue,
  indices: Iterable<number>,
  maxBytes = LOOKUP_STRING,
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const offsets = kv.elementOffsets;
  const length = kv.length ?? 0;
  if (offsets === undefined) return out;
  const c = new Cursor(source, undefined, LOOKUP_WINDOW);
  c.le = header.littleEndian;
  c.v1 = header.version === 1;
  try {
    for (const index of new Set(indices)) {
      const start = offsets[Math.floor(index / INDEX_STEP)];
      if (!Number.isSafeInteger(index) || index < 0 || index >= length || start === undefined) continue;
      c.pos = start;
      for (let i = index - (index % INDEX_STEP); ; i++) {
        await c.fill(c.lenSize);
        const n = c.len();
        if (n > c.remaining) break;
        if (i === index) {
          if (n <= maxBytes) {
            await c.fill(n);
            out.set(index, c.text(n));
          }
          break;
        }
        c.pos += n;
      }
    }
  } catch (error) {
    // The header read these bytes already; a file that changed since has no tokens to offer.
    if (!(error instanceof ModelgateError && error.code === "TRUNCATED")) throw error;
  }
  return out;
}
