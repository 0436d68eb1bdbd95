/**
 * A {@link ByteSource} over a remote object read by ranges, for any source that can fetch a
 * checked byte range (`https://` URLs, S3 objects, OCI blobs): a small segment cache and adaptive
 * read-ahead keep header reads to a few requests, and the bytes fetched in order from the start are
 * hashed, so an object read whole is verified against its pinned SHA-256 at no extra cost.
 *
 * The analysed bytes are the hashed bytes: every range is fetched fresh once, and a range fetched
 * again (evicted from the cache, or read to complete the digest) is fetched as the same range and
 * must hash as it did the first time; a server that answers otherwise is a `NETWORK` error.
 *
 * Each byte is hashed once on its way in. A range that continues the hashed prefix is fed straight
 * to the file's SHA-256, and what it must hash to when fetched again is that digest's state before
 * and after it (a refetch is checked by replaying it from the saved state); only a range fetched
 * ahead of the prefix (a zip's central directory, a tail) is hashed on its own, and again when the
 * prefix reaches it. Completing the digest streams the rest: each range's body is fed to the
 * digest chunk by chunk as it arrives (neither kept nor copied), with the next range's request
 * already sent so no round trip is lost between ranges. When the whole object will be read
 * (`hashInWorker`), the SHA-256 is computed on a hashing thread ({@link WorkerDigest}): the bytes
 * are copied to it in batches as they arrive and the stream waits when it falls behind, so the
 * download and the hashing use two cores.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { availableParallelism } from "node:os";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { type DigestMark, InlineDigest, type RangeDigest, WorkerDigest } from "./digest.js";

/** Read tuning of a {@link RangeReader}. */
export interface RangeReaderOptions {
  /** Smallest range requested (read-ahead for random reads; default 64 KiB). */
  minFetch?: number;
  /** Largest read-ahead window, reached by sequential reads (default 8 MiB). */
  maxWindow?: number;
  /** Bytes of fetched segments kept per object (default 16 MiB). */
  maxCache?: number;
  /**
   * Largest range streamed to complete the digest (default 64 MiB). Streamed ranges start at
   * `maxWindow` and double while each one arrives within a second (fewer requests on a fast link),
   * and halve when one takes more than eight: a range's transfer stays far within a request's time
   * limit on a slow one.
   */
  maxStream?: number;
}

/**
 * Fetches exactly the bytes `[start, end)` of the object (checking the response), or throws: one
 * buffer, or the body's chunks in order (not copied together when the range is only hashed).
 * @param start - first byte
 * @param end - one past the last byte
 * @param signal - aborts the request
 */
export type RangeFetch = (start: number, end: number, signal: AbortSignal) => Promise<Uint8Array | Uint8Array[]>;

/**
 * Bytes a streamed range counts for against a transport's bytes-in-flight budget, whatever its
 * length: its body is not kept, and the connection's flow control bounds what waits in buffers.
 */
export const STREAM_RESERVE = 8 << 20;

/**
 * Takes the chunks of a streamed range, in order; throws to stop the transfer. A promise asks the
 * stream to wait for it before the next chunk (the hashing thread is behind).
 */
export type RangeSink = (chunk: Uint8Array) => undefined | Promise<void>;

/**
 * Streams exactly the bytes `[start, end)` of the object to a sink, checking the response as a
 * {@link RangeFetch} does, for ranges that are only hashed. Each attempt calls `begin` after its
 * response was checked and before reading its body, with the attempt's signal (which ends the
 * attempt: its timeout included); the body's chunks go, in order, to the sink `begin` resolves to.
 * A retried attempt calls `begin` again and starts over from `start`. Resolves once the body was
 * read whole; more bytes than asked for is an error.
 * @param start - first byte
 * @param end - one past the last byte
 * @param signal - aborts the request
 * @param begin - called per attempt, waits until the range's bytes may be fed, gives the sink
 */
export type RangeStream = (
  start: number,
  end: number,
  signal: AbortSignal,
  begin: (attempt: AbortSignal) => Promise<RangeSink>,
) => Promise<void>;

/** One buffer of chunks (copied only when there are several). */
const join = (chunks: readonly Uint8Array[]): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** SHA-256 (hex) of chunks, optionally continuing a state. */
const hashChunks = (chunks: readonly Uint8Array[], from: Hash = createHash("sha256")): string => {
  for (const c of chunks) from.update(c);
  return from.digest("hex");
};

/** Where the digest of a remote object stands. */
export interface DigestState {
  /** Every byte was hashed. */
  readonly complete: boolean;
  /** SHA-256 of the bytes served, when complete. */
  readonly sha256?: string;
  /** Bytes of this object transferred. */
  readonly bytesFetched: number;
  /** Hex digest of the second hash (`alsoHash`), when complete. */
  readonly alsoDigest?: string;
}

interface Segment {
  start: number;
  bytes: Uint8Array;
}

/**
 * A range fetched once: a later fetch of it must return the same bytes. A range fetched ahead of
 * the hashed prefix keeps its own SHA-256; a range that continued the prefix keeps the file
 * digest's state before it and the digest after it, so a refetch replays it from that state.
 */
type Fetched =
  | { readonly start: number; readonly end: number; readonly sha256: string }
  | { readonly start: number; readonly end: number; readonly before: DigestMark; readonly after: Promise<string> };

const RESOLVED: Promise<void> = Promise.resolve();

/** A remote object read by checked ranges, hashed as its prefix arrives. */
export class RangeReader implements ByteSource {
  readonly size: number;
  readonly #fetch: RangeFetch;
  readonly #controller = new AbortController();
  readonly #signal: AbortSignal;
  readonly #minFetch: number;
  readonly #maxWindow: number;
  readonly #maxCache: number;
  readonly #maxStream: number;
  /** Size of the next streamed range. */
  #streamSize: number;
  readonly #fetched: () => number;
  #segments: Segment[] = [];
  #cached = 0;
  #lastEnd = -1;
  #window: number;
  readonly #stream: RangeStream | undefined;
  // Put back to a mark (never updated out of order) when a streamed range starts over after a failed attempt.
  readonly #sha256: RangeDigest;
  #alsoHash: Hash | undefined;
  #hashedUpTo = 0;
  #closed = false;
  /** The SHA-256 as it stood when the reader was closed. */
  #final: Promise<string> | undefined;
  /** Every range fetched, by start, not overlapping. */
  readonly #fetchedRanges: Fetched[] = [];
  /** Reads run one at a time (each plans its fetches from the ranges already fetched). */
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @param params - size, the range fetcher (and the streaming one used to complete the digest,
   *   when the source has one), the signal of the whole root, bytes fetched so far (a counter the
   *   fetcher updates), bytes already in hand (the probe's first range), tuning, and a second
   *   digest fed the same bytes in the same order as the SHA-256 (a git blob SHA-1 primed with its
   *   header), whose hex digest {@link RangeReader.digest} gives once complete, and whether the
   *   SHA-256 is computed on a hashing thread when there is more than one core (worth it when the
   *   whole object will be read: the download and the hashing then run on two cores)
   */
  constructor(params: {
    size: number;
    fetch: RangeFetch;
    stream?: RangeStream | undefined;
    signal: AbortSignal;
    bytesFetched: () => number;
    initial?: { start: number; bytes: Uint8Array } | undefined;
    options?: RangeReaderOptions | undefined;
    alsoHash?: Hash | undefined;
    hashInWorker?: boolean | undefined;
  }) {
    // With one core a hashing thread only adds the copies.
    const worker = params.hashInWorker === true && availableParallelism() > 1;
    this.#sha256 = worker ? new WorkerDigest() : new InlineDigest();
    this.size = params.size;
    this.#fetch = params.fetch;
    this.#stream = params.stream;
    this.#signal = AbortSignal.any([params.signal, this.#controller.signal]);
    this.#fetched = params.bytesFetched;
    this.#alsoHash = params.alsoHash;
    const o = params.options ?? {};
    this.#minFetch = Math.max(1, o.minFetch ?? 64 << 10);
    this.#maxWindow = Math.max(this.#minFetch, o.maxWindow ?? 8 << 20);
    this.#maxCache = Math.max(this.#maxWindow, o.maxCache ?? 16 << 20);
    this.#maxStream = Math.max(this.#maxWindow, o.maxStream ?? 64 << 20);
    this.#streamSize = this.#maxWindow;
    this.#window = this.#minFetch;
    if (params.initial !== undefined) {
      const { start, bytes } = params.initial;
      // New ground at the start: accepted at once (a failed hashing thread fails the digest later).
      this.#accept(start, start + bytes.length, [bytes]).catch(() => undefined);
      this.#store(start, bytes);
    }
  }

  /** @inheritdoc */
  read(offset: number, length: number): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#read(offset, length));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
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
      if (!windowSet) {
        windowSet = true;
        const sequential = start === this.#lastEnd || at === this.#lastEnd;
        this.#window = sequential ? Math.min(this.#maxWindow, this.#window * 2) : this.#minFetch;
      }
      // A range fetched before (and evicted) is fetched again whole, and checked; new ground is
      // fetched up to the next range fetched before, at most a cacheable amount at once.
      const known = this.#rangeAt(at);
      let from = at;
      let to: number;
      if (known !== undefined) {
        from = known.start;
        to = known.end;
      } else {
        const next = this.#nextRangeStart(at);
        to = Math.min(next, Math.max(Math.min(end, next), at + this.#window), at + this.#maxCache);
      }
      const fetched = await this.#get(from, to, this.#signal);
      this.#store(from, fetched);
      const got = fetched.subarray(at - from, Math.min(fetched.length, end - from));
      parts.push(got);
      at += got.length;
    }
    this.#lastEnd = end;
    return join(parts);
  }

  /** @inheritdoc */
  close(): Promise<void> {
    this.#closed = true;
    this.#controller.abort(new ModelgateError("ABORTED", "source closed"));
    this.#segments = [];
    this.#cached = 0;
    // A digest asked for after this (the engine verifies before it closes) gets the state as it is now.
    this.#final ??= this.#hex();
    this.#sha256.close();
    return Promise.resolve();
  }

  /** The SHA-256 so far (its failure, a lost hashing thread, is handled by whoever awaits it). */
  #hex(): Promise<string> {
    const hex = this.#sha256.hex();
    hex.catch(() => undefined);
    return hex;
  }

  /**
   * Hashes whatever was not fetched yet, when `full` (large ranges streamed into the digest, the
   * next one requested while the current one arrives; not cached), then says where the digest
   * stands.
   * @param full - read the rest of the object to complete the digest
   * @param signal - aborts the remaining reads
   */
  digest(full: boolean, signal?: AbortSignal): Promise<DigestState> {
    if (!full || this.#hashedUpTo >= this.size) return this.#state();
    // Queued behind the reads (a read and the digest never plan fetches of the same ground at
    // once), and abandoned when `signal` fires even if a read ahead of it is stuck.
    const run = this.#queue.then(async () => {
      if (this.#closed) throw new ModelgateError("IO", "digest after close");
      if (this.#hashedUpTo < this.size) await this.#hashRest(signal);
      return this.#state();
    });
    this.#queue = run.catch(() => undefined);
    if (signal === undefined) return run;
    return new Promise<DigestState>((resolve, reject) => {
      const onAbort = () => reject(toModelgateError(signal.reason));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  async #state(): Promise<DigestState> {
    // Asked for now (the digest of exactly the bytes hashed so far), awaited after.
    const complete = this.#hashedUpTo >= this.size;
    const sha256 = complete ? (this.#final ?? this.#hex()) : undefined;
    const alsoDigest = complete ? this.#alsoHash?.copy().digest("hex") : undefined;
    const bytesFetched = this.#fetched();
    return {
      complete,
      ...(sha256 === undefined ? {} : { sha256: await sha256 }),
      ...(alsoDigest === undefined ? {} : { alsoDigest }),
      bytesFetched,
    };
  }

  async #hashRest(signal?: AbortSignal): Promise<void> {
    // Without a streaming fetcher, three buffered ranges are in flight. With one, a single range is
    // fed at a time, and the next one is requested when it is seven eighths in (its first bytes are
    // on their way when this one ends, held back by the connection's flow control until read).
    const streaming = this.#stream !== undefined;
    const stop = new AbortController();
    const s = AbortSignal.any([this.#signal, stop.signal, ...(signal === undefined ? [] : [signal])]);
    // Each piece settles once its bytes were taken, in order: a piece's bytes are fed after the
    // previous piece's (`turn`).
    const pending: Promise<void>[] = [];
    let turn: Promise<void> = Promise.resolve();
    let next = this.#hashedUpTo;
    const launch = () => {
      if (next < this.#hashedUpTo) next = this.#hashedUpTo;
      if (next >= this.size) return;
      // The hash continues where it stopped: at the end of a range fetched before, so the next
      // piece is a cached segment, a range fetched before (fetched again and checked), or new ground.
      // Pieces are taken in order, so new ground continues the prefix and is hashed once.
      const previous = turn;
      const cached = this.#segments.find((seg) => seg.start === next);
      const known = cached === undefined ? this.#rangeAt(next) : undefined;
      let done: Promise<void>;
      if (cached !== undefined) {
        next = cached.start + cached.bytes.length;
        done = previous.then(() => this.#feed(cached.start, [cached.bytes]));
      } else {
        const from = known?.start ?? next;
        const streamed = known === undefined && this.#stream !== undefined;
        const size = streamed ? this.#streamSize : this.#maxWindow;
        next = known?.end ?? Math.min(this.size, from + size, this.#nextRangeStart(from));
        const to = next;
        if (streamed && this.#stream !== undefined) {
          done = this.#streamPiece(this.#stream, from, to, s, previous, () => {
            if (pending.length === 0) launch();
          });
        } else {
          // Not cached, not copied together: hashed chunk by chunk as the body arrived.
          const chunks = this.#fetchExact(from, to, s);
          chunks.catch(() => undefined);
          done = previous.then(async () => this.#accept(from, to, await chunks));
        }
      }
      done.catch(() => undefined);
      pending.push(done);
      turn = done;
    };
    try {
      for (let i = 0; i < (streaming ? 1 : 3); i++) launch();
      while (pending.length > 0) {
        await pending.shift();
        if (!streaming || pending.length === 0) launch();
      }
    } finally {
      // A piece that failed ends the ones requested after it.
      stop.abort(new ModelgateError("ABORTED", "the digest stopped"));
    }
  }

  /**
   * Streams new ground `[from, to)`, which continues the hashed prefix once `previous` settled,
   * straight into the digest, and records what it hashed to. An attempt that starts over (the
   * transport retries a body cut short) puts the digest back to its state at `from` first.
   * `nearEnd` is called once, when seven eighths of the range were fed.
   */
  #streamPiece(
    stream: RangeStream,
    from: number,
    to: number,
    signal: AbortSignal,
    previous: Promise<void>,
    nearEnd: () => void,
  ): Promise<void> {
    let before: { sha256: DigestMark; also: Hash | undefined } | undefined;
    let fed = 0;
    const mark = to - from - Math.floor((to - from) / 8);
    let marked = false;
    let started = 0;
    const begin = async (attempt: AbortSignal): Promise<RangeSink> => {
      // The previous piece may still be arriving: wait for it, but not past this attempt's end
      // (its timeout), so a piece waiting here never holds its connection for good.
      await untilSettled(previous, attempt);
      started = performance.now();
      if (before === undefined) {
        if (this.#hashedUpTo !== from) {
          throw new ModelgateError(
            "IO",
            `internal: a streamed range starts at ${from}, the digest at ${this.#hashedUpTo}`,
          );
        }
        before = { sha256: this.#sha256.mark(), also: this.#alsoHash?.copy() };
      } else {
        this.#sha256.restore(before.sha256);
        this.#alsoHash = before.also?.copy();
        this.#hashedUpTo = from;
      }
      fed = 0;
      return (c: Uint8Array) => {
        if (fed + c.length > to - from) {
          throw new ModelgateError("NETWORK", `asked for ${to - from} bytes at ${from}, got more`);
        }
        fed += c.length;
        const behind = this.#update(c);
        if (!marked && fed >= mark) {
          marked = true;
          nearEnd();
        }
        return behind === undefined ? undefined : untilSettled(behind, attempt);
      };
    };
    return stream(from, to, signal, begin).then(() => {
      if (before === undefined || fed !== to - from) {
        throw new ModelgateError("NETWORK", `asked for ${to - from} bytes at ${from}, got ${fed}`);
      }
      this.#record(from, to, { start: from, end: to, before: before.sha256, after: this.#hex() });
      this.#continueFromCache();
      // The next ranges' size follows how long this one took to arrive.
      const ms = performance.now() - started;
      if (ms < 1000 && to - from >= this.#streamSize)
        this.#streamSize = Math.min(this.#maxStream, this.#streamSize * 2);
      else if (ms > 8000) this.#streamSize = Math.max(this.#maxWindow, this.#streamSize / 2);
    });
  }

  /**
   * Fetches exactly `[start, end)` and accepts it: the first fetch of a range records what it
   * hashes to, a later fetch of the same range must match it.
   */
  async #get(start: number, end: number, signal: AbortSignal): Promise<Uint8Array> {
    const chunks = await this.#fetchExact(start, end, signal);
    await untilSettled(this.#accept(start, end, chunks), signal);
    return join(chunks);
  }

  /** Fetches exactly `[start, end)` as chunks (nothing recorded yet). */
  async #fetchExact(start: number, end: number, signal: AbortSignal): Promise<Uint8Array[]> {
    const got = await this.#fetch(start, end, signal);
    const chunks = got instanceof Uint8Array ? [got] : got;
    const length = chunks.reduce((n, c) => n + c.length, 0);
    if (length !== end - start) {
      throw new ModelgateError("NETWORK", `asked for ${end - start} bytes at ${start}, got ${length}`);
    }
    return chunks;
  }

  /**
   * Takes the bytes of `[start, end)` as fetched: a range fetched before must be the same range
   * with the same bytes; a new range that continues the hashed prefix is fed to the digest (its
   * check is the digest's state around it), any other new range is hashed on its own. New ground
   * is taken at once (the promise is for a hashing thread that is behind); a refetch is taken once
   * it was checked.
   */
  #accept(start: number, end: number, chunks: readonly Uint8Array[]): Promise<void> {
    if (end <= start) return RESOLVED;
    const known = this.#rangeAt(start);
    if (known !== undefined) return this.#acceptAgain(known, start, end, chunks);
    if (start === this.#hashedUpTo) {
      this.#checkNew(start, end);
      const before = this.#sha256.mark();
      let behind: Promise<void> | undefined;
      for (const c of chunks) behind = this.#update(c) ?? behind;
      this.#record(start, end, { start, end, before, after: this.#hex() });
      this.#continueFromCache();
      return behind ?? RESOLVED;
    }
    this.#record(start, end, { start, end, sha256: hashChunks(chunks) });
    return RESOLVED;
  }

  /** Takes a range fetched before: the same range, hashing as it did the first time. */
  async #acceptAgain(known: Fetched, start: number, end: number, chunks: readonly Uint8Array[]): Promise<void> {
    let same = known.start === start && known.end === end;
    if (same) {
      same =
        "sha256" in known
          ? hashChunks(chunks) === known.sha256
          : (await this.#sha256.hexFrom(known.before, chunks)) === (await known.after);
    }
    if (!same) {
      throw new ModelgateError(
        "NETWORK",
        `the server sent other bytes for ${start}-${end - 1} than it sent before: the content changed or the server is not consistent`,
      );
    }
    // A range fetched ahead of the prefix, evicted, fetched again where the prefix now stands.
    this.#feed(start, chunks);
  }

  /** Throws when `[start, end)` overlaps a range fetched before. */
  #checkNew(start: number, end: number): void {
    const r = this.#fetchedRanges;
    let i = r.length;
    while (i > 0 && r[i - 1]!.start > start) i--;
    if ((r[i - 1] !== undefined && r[i - 1]!.end > start) || (r[i] !== undefined && r[i]!.start < end)) {
      throw new ModelgateError("NETWORK", `overlapping range fetches at ${start}-${end - 1}`);
    }
  }

  /** Records a range fetched for the first time (after {@link RangeReader.#checkNew}). */
  #record(start: number, end: number, fetched: Fetched): void {
    this.#checkNew(start, end);
    const r = this.#fetchedRanges;
    let i = r.length;
    while (i > 0 && r[i - 1]!.start > start) i--;
    r.splice(i, 0, fetched);
  }

  /** The range fetched before that holds `at`, if any. */
  #rangeAt(at: number): Fetched | undefined {
    const r = this.#fetchedRanges;
    let lo = 0;
    let hi = r.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = r[mid]!;
      if (at < f.start) hi = mid - 1;
      else if (at >= f.end) lo = mid + 1;
      else return f;
    }
    return undefined;
  }

  /** Start of the first range fetched before that begins after `at` (else the size). */
  #nextRangeStart(at: number): number {
    for (const f of this.#fetchedRanges) if (f.start > at) return Math.min(f.start, this.size);
    return this.size;
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

  /** Keeps fetched bytes in the segment cache (the digest was fed by {@link RangeReader.#accept}). */
  #store(start: number, bytes: Uint8Array): void {
    if (bytes.length > this.#maxCache) return;
    this.#segments.push({ start, bytes });
    this.#cached += bytes.length;
    while (this.#cached > this.#maxCache && this.#segments.length > 1) {
      const old = this.#segments.shift()!;
      this.#cached -= old.bytes.length;
    }
  }

  /** Feeds bytes of a range fetched before to the digest when they continue the hashed prefix. */
  #feed(start: number, chunks: readonly Uint8Array[]): void {
    const end = chunks.reduce((n, c) => n + c.length, start);
    if (start > this.#hashedUpTo || end <= this.#hashedUpTo) return;
    let at = start;
    for (const c of chunks) {
      const cEnd = at + c.length;
      if (cEnd > this.#hashedUpTo) void this.#update(c.subarray(this.#hashedUpTo - at));
      at = cEnd;
    }
    this.#continueFromCache();
  }

  /** Feeds the digests; a promise when the hashing thread is behind (see {@link RangeDigest.update}). */
  #update(part: Uint8Array): Promise<void> | undefined {
    const behind = this.#sha256.update(part);
    this.#alsoHash?.update(part);
    this.#hashedUpTo += part.length;
    // Handled here too: a caller that does not wait (bytes already in memory) leaves a failed
    // hashing thread to fail the digest itself.
    behind?.catch(() => undefined);
    return behind;
  }

  /** Feeds cached segments (ranges fetched ahead of the prefix) that the prefix has reached. */
  #continueFromCache(): void {
    for (let progressed = true; progressed && this.#hashedUpTo < this.size; ) {
      progressed = false;
      for (const s of this.#segments) {
        const sEnd = s.start + s.bytes.length;
        if (s.start <= this.#hashedUpTo && sEnd > this.#hashedUpTo) {
          void this.#update(s.bytes.subarray(this.#hashedUpTo - s.start));
          progressed = true;
        }
      }
    }
  }
}

/**
 * Waits for `promise` to settle (a rejection is passed on), or throws when `signal` fires first.
 * @param promise - what to wait for
 * @param signal - ends the wait
 */
function untilSettled(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(toModelgateError(signal.reason));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
