/**
 * Running a synchronous flatbuffer walk over a {@link ByteSource} without reading a large file
 * whole. A flatbuffer up to {@link PagedOptions.wholeBytes} is read into memory; a larger one (a
 * TFLite model with its weights inline can approach 2 GiB) is read in pages on demand: the walk
 * runs over a sparse page cache, a page it lacks throws {@link MissingBytes}, the page (or all the
 * pages of a vector of tables, through `prefetch`) is loaded and the walk starts again. The walk
 * only touches tables, vtables and length prefixes, never tensor payloads, so the pages loaded
 * stay few; the pages, the reloads and the bytes they cost are budgeted.
 * @module
 */
import { type ByteSource, readClamped, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { ArrayBytes, type FlatBytes, MissingBytes } from "./reader.js";

/** Budgets of a paged walk. */
export interface PagedOptions {
  /** Flatbuffers up to this size are read whole (default 64 MiB). */
  readonly wholeBytes?: number;
  /** Page size of the sparse cache (default 64 KiB). */
  readonly pageSize?: number;
  /** Pages loaded at most (default 4096, 256 MiB with the default page size). */
  readonly maxPages?: number;
  /** Re-runs of the walk at most (default 1024). */
  readonly maxRuns?: number;
  /** Called between runs (abort and time budget). */
  readonly checkpoint?: () => void;
}

/** A sparse page cache; reading a page it does not hold throws {@link MissingBytes}. */
export class PagedBytes implements FlatBytes {
  readonly size: number;
  readonly pageSize: number;
  readonly #pages = new Map<number, Uint8Array>();

  /**
   * @param size - size of the flatbuffer region
   * @param pageSize - bytes per page
   */
  constructor(size: number, pageSize: number) {
    this.size = size;
    this.pageSize = pageSize;
  }

  /** Pages held. */
  get loaded(): number {
    return this.#pages.size;
  }

  /** Whether page `index` is held. */
  holds(index: number): boolean {
    return this.#pages.has(index);
  }

  /** Adds page `index`. */
  add(index: number, data: Uint8Array): void {
    this.#pages.set(index, data);
  }

  /** @inheritdoc */
  u8(offset: number): number {
    const page = this.#pages.get(Math.floor(offset / this.pageSize));
    if (page === undefined) throw new MissingBytes([[offset, 1]]);
    return page[offset % this.pageSize] ?? 0;
  }

  /** @inheritdoc */
  bytes(offset: number, length: number): Uint8Array {
    const first = Math.floor(offset / this.pageSize);
    const last = Math.floor((offset + Math.max(1, length) - 1) / this.pageSize);
    if (first === last) {
      const page = this.#pages.get(first);
      if (page === undefined) throw new MissingBytes([[offset, length]]);
      const at = offset % this.pageSize;
      return page.subarray(at, at + length);
    }
    this.prefetch([[offset, length]]);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u8(offset + i);
    return out;
  }

  /** @inheritdoc */
  prefetch(ranges: readonly (readonly [number, number])[]): void {
    const missing: [number, number][] = [];
    for (const [offset, length] of ranges) {
      const first = Math.floor(offset / this.pageSize);
      const last = Math.floor((offset + Math.max(1, length) - 1) / this.pageSize);
      for (let p = first; p <= last; p++) {
        if (!this.#pages.has(p)) missing.push([p * this.pageSize, 1]);
      }
    }
    if (missing.length > 0) throw new MissingBytes(missing);
  }
}

/**
 * Runs `walk` over the first `size` bytes of `source`, whole or paged.
 * @param source - where the flatbuffer is
 * @param size - size of the flatbuffer region (at most `source.size`)
 * @param walk - a synchronous walk; it may throw {@link MissingBytes} (paged mode)
 * @param options - budgets
 */
export async function walkFlatbuffer<T>(
  source: ByteSource,
  size: number,
  walk: (bytes: FlatBytes) => T,
  options: PagedOptions = {},
): Promise<T> {
  const region = Math.min(size, source.size);
  if (region <= (options.wholeBytes ?? 64 * 1024 * 1024)) {
    return walk(new ArrayBytes(await readExact(source, 0, region)));
  }
  const pageSize = options.pageSize ?? 64 * 1024;
  const maxPages = options.maxPages ?? 4096;
  const maxRuns = options.maxRuns ?? 1024;
  const paged = new PagedBytes(region, pageSize);
  const load = async (index: number) => {
    if (paged.holds(index)) return;
    if (paged.loaded >= maxPages) {
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `the flatbuffer's structure is spread over more than ${maxPages} pages of ${pageSize} bytes`,
        { offset: index * pageSize, budget: "flatbuffer.maxPages" },
      );
    }
    paged.add(index, await readClamped(source, index * pageSize, Math.min(pageSize, region - index * pageSize)));
  };
  await load(0);
  for (let run = 0; ; run++) {
    try {
      return walk(paged);
    } catch (error) {
      if (!(error instanceof MissingBytes)) throw error;
      if (run >= maxRuns) {
        throw new ModelgateError("BUDGET_EXCEEDED", `the flatbuffer walk needed more than ${maxRuns} reloads`, {
          budget: "flatbuffer.maxRuns",
        });
      }
      options.checkpoint?.();
      const pages = new Set<number>();
      for (const [offset, length] of error.ranges) {
        const first = Math.floor(offset / pageSize);
        const last = Math.floor((offset + Math.max(1, length) - 1) / pageSize);
        for (let p = first; p <= last && pages.size <= maxPages; p++) pages.add(p);
      }
      for (const p of [...pages].sort((a, b) => a - b)) await load(p);
    }
  }
}
