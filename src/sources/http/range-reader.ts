/**
 * A {@link ByteSource} over a remote object read by ranges, for any source that can fetch a
 * checked byte range (`https://` URLs, S3 objects): a small segment cache and adaptive read-ahead
 * keep header reads to a few requests, and the bytes fetched in order from the start are hashed,
 * so an object read whole is verified against its pinned SHA-256 at no extra cost.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

/** Read tuning of a {@link RangeReader}. */
export interface RangeReaderOptions {
  /** Smallest range requested (read-ahead for random reads; default 64 KiB). */
  minFetch?: number;
  /** Largest read-ahead window, reached by sequential reads (default 8 MiB). */
  maxWindow?: number;
  /** Bytes of fetched segments kept per object (default 16 MiB). */
  maxCache?: number;
}

/**
 * Fetches exactly the bytes `[start, end)` of the object (checking the response), or throws.
 * @param start - first byte
 * @param end - one past the last byte
 * @param signal - aborts the request
 */
export type RangeFetch = (start: number, end: number, signal: AbortSignal) => Promise<Uint8Array>;

/** Where the digest of a remote object stands. */
export interface DigestState {
  /** Every byte was hashed. */
  readonly complete: boolean;
  /** SHA-256 of the bytes served, when complete. */
  readonly sha256?: string;
  /** Bytes of this object transferred. */
  readonly bytesFetched: number;
}

interface Segment {
  start: number;
  bytes: Uint8Array;
}

/** A remote object read by checked ranges, hashed as its prefix arrives. */
export class RangeReader implements ByteSource {
  readonly size: number;
  readonly #fetch: RangeFetch;
  readonly #controller = new AbortController();
  readonly #signal: AbortSignal;
  readonly #minFetch: number;
  readonly #maxWindow: number;
  readonly #maxCache: number;
  readonly #fetched: () => number;
  #segments: Segment[] = [];
  #cached = 0;
  #lastEnd = -1;
  #window: number;
  readonly #sha256: Hash = createHash("sha256");
  #hashedUpTo = 0;
  #closed = false;

  /**
   * @param params - size, the range fetcher, the signal of the whole root, bytes fetched so far
   *   (a counter the fetcher updates), bytes already in hand (the probe's first range), tuning
   */
  constructor(params: {
    size: number;
    fetch: RangeFetch;
    signal: AbortSignal;
    bytesFetched: () => number;
    initial?: { start: number; bytes: Uint8Array } | undefined;
    options?: RangeReaderOptions | undefined;
  }) {
    this.size = params.size;
    this.#fetch = params.fetch;
    this.#signal = AbortSignal.any([params.signal, this.#controller.signal]);
    this.#fetched = params.bytesFetched;
    const o = params.options ?? {};
    this.#minFetch = Math.max(1, o.minFetch ?? 64 << 10);
    this.#maxWindow = Math.max(this.#minFetch, o.maxWindow ?? 8 << 20);
    this.#maxCache = Math.max(this.#maxWindow, o.maxCache ?? 16 << 20);
    this.#window = this.#minFetch;
    if (params.initial !== undefined) this.#store(params.initial.start, params.initial.bytes);
  }

  /** @inheritdoc */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new ModelgateError("IO", "read after close");
    const start = Math.min(Math.max(0, offset), this.size);
    const end = Math.min(this.size, start + Math.max(0, length));
    if (end <= start) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let windowSet = false;
    for (let at = start; at < end; ) {
      const cached = this.#cachedPrefix(at, end);
      if (cached.length > 0) {
        parts.push(cached);
        at += cached.length;
        continue;
      }
      const next = this.#nextCachedStart(at);
      if (!windowSet) {
        windowSet = true;
        const sequential = start === this.#lastEnd || at === this.#lastEnd;
        this.#window = sequential ? Math.min(this.#maxWindow, this.#window * 2) : this.#minFetch;
      }
      const fetchEnd = Math.min(this.size, next, Math.max(Math.min(end, next), at + this.#window));
      const fetched = await this.#fetch(at, fetchEnd, this.#signal);
      if (fetched.length !== fetchEnd - at) {
        throw new ModelgateError("NETWORK", `asked for ${fetchEnd - at} bytes at ${at}, got ${fetched.length}`);
      }
      this.#store(at, fetched);
      const got = fetched.subarray(0, Math.min(fetched.length, end - at));
      parts.push(got);
      at += got.length;
    }
    this.#lastEnd = end;
    if (parts.length === 1) return parts[0] as Uint8Array;
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let filled = 0;
    for (const p of parts) {
      out.set(p, filled);
      filled += p.length;
    }
    return out;
  }

  /** @inheritdoc */
  close(): Promise<void> {
    this.#closed = true;
    this.#controller.abort(new ModelgateError("ABORTED", "source closed"));
    this.#segments = [];
    this.#cached = 0;
    return Promise.resolve();
  }

  /**
   * Hashes whatever was not fetched yet, when `full` (large ranges, three in flight, not cached),
   * then says where the digest stands.
   * @param full - read the rest of the object to complete the digest
   * @param signal - aborts the remaining reads
   */
  async digest(full: boolean, signal?: AbortSignal): Promise<DigestState> {
    if (full && this.#hashedUpTo < this.size) await this.#hashRest(signal);
    const complete = this.#hashedUpTo >= this.size;
    return {
      complete,
      ...(complete ? { sha256: this.#sha256.copy().digest("hex") } : {}),
      bytesFetched: this.#fetched(),
    };
  }

  async #hashRest(signal?: AbortSignal): Promise<void> {
    const chunk = this.#maxWindow;
    const pending: Array<{ from: number; bytes: Promise<Uint8Array> }> = [];
    let next = this.#hashedUpTo;
    const s = signal === undefined ? this.#signal : AbortSignal.any([this.#signal, signal]);
    const launch = () => {
      if (next < this.#hashedUpTo) next = this.#hashedUpTo;
      if (next >= this.size) return;
      const from = next;
      const to = Math.min(this.size, from + chunk);
      next = to;
      const bytes = this.#fetch(from, to, s);
      bytes.catch(() => undefined);
      pending.push({ from, bytes });
    };
    for (let i = 0; i < 3; i++) launch();
    while (pending.length > 0) {
      const { from, bytes } = pending.shift()!;
      this.#feed(from, await bytes);
      launch();
    }
  }

  #cachedPrefix(start: number, end: number): Uint8Array {
    let best: Uint8Array = new Uint8Array(0);
    for (const s of this.#segments) {
      const sEnd = s.start + s.bytes.length;
      if (s.start <= start && sEnd > start) {
        const piece = s.bytes.subarray(start - s.start, Math.min(end, sEnd) - s.start);
        if (piece.length > best.length) best = piece;
      }
    }
    return best;
  }

  #nextCachedStart(at: number): number {
    let next = this.size;
    for (const s of this.#segments) if (s.start > at && s.start < next) next = s.start;
    return next;
  }

  #store(start: number, bytes: Uint8Array): void {
    this.#feed(start, bytes);
    if (bytes.length > this.#maxCache) return;
    this.#segments.push({ start, bytes });
    this.#cached += bytes.length;
    while (this.#cached > this.#maxCache && this.#segments.length > 1) {
      const old = this.#segments.shift()!;
      this.#cached -= old.bytes.length;
    }
  }

  /** Feeds newly fetched bytes to the digest when they continue the hashed prefix. */
  #feed(start: number, bytes: Uint8Array): void {
    const end = start + bytes.length;
    if (start > this.#hashedUpTo || end <= this.#hashedUpTo) return;
    this.#sha256.update(bytes.subarray(this.#hashedUpTo - start));
    this.#hashedUpTo = end;
    for (let progressed = true; progressed && this.#hashedUpTo < this.size; ) {
      progressed = false;
      for (const s of this.#segments) {
        const sEnd = s.start + s.bytes.length;
        if (s.start <= this.#hashedUpTo && sEnd > this.#hashedUpTo) {
          this.#sha256.update(s.bytes.subarray(this.#hashedUpTo - s.start));
          this.#hashedUpTo = sEnd;
          progressed = true;
        }
      }
    }
  }
}
