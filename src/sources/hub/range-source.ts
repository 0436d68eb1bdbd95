/**
 * A {@link ByteSource} over one file of a Hub repository at a pinned commit, read with HTTP range
 * requests: every response is checked (206, `Content-Range`, length), a small segment cache and
 * adaptive read-ahead keep the sniffer's and parsers' header reads to a few requests, and the bytes
 * fetched in order from the start are hashed so a file read whole is verified for free.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import {
  type HubResponse,
  type HubTransport,
  type RequestContext,
  readBody,
  readExactBody,
  type TransferStats,
  TransientError,
} from "./transport.js";

/** Digests a Hub tree pins for a file. */
export interface PinnedDigest {
  /** LFS oid: SHA-256 of the content. */
  sha256?: string;
  /** Git blob SHA-1 (`sha1("blob <size>\0" + content)`), for files stored in git. */
  gitSha1?: string;
}

/** Read tuning of a `HubFileSource` (the range reader of a Hub file). */
export interface RangeReadOptions {
  /** Smallest range requested (read-ahead for random reads; default 64 KiB). */
  minFetch?: number;
  /** Largest read-ahead window, reached by sequential reads (default 8 MiB). */
  maxWindow?: number;
  /** Bytes of fetched segments kept per file (default 16 MiB). */
  maxCache?: number;
  /**
   * When a server ignores `Range` and sends the whole file, files up to this size are taken
   * whole (default 32 MiB); larger ones fail with `NETWORK`.
   */
  maxWholeFile?: number;
}

/** A mismatch between what the commit pins and what was served. */
export interface IntegrityProblem {
  /** What disagreed: `size`, `sha256`, `git-sha1`, `etag`, `linked-size` or `commit`. */
  readonly check: string;
  /** What the pinned commit says. */
  readonly expected: string;
  /** What was served. */
  readonly actual: string;
}

/** Where the bytes of a file stand after the scan. */
export interface IntegrityState {
  /** Every byte was hashed. */
  readonly complete: boolean;
  /** SHA-256 of the served bytes, when complete. */
  readonly sha256?: string;
  /** Git blob SHA-1 of the served bytes, when complete and a git oid was pinned. */
  readonly gitSha1?: string;
  /** Disagreements found (headers, sizes, digests). */
  readonly problems: readonly IntegrityProblem[];
  /** Bytes of this file transferred. */
  readonly bytesFetched: number;
}

interface Segment {
  start: number;
  bytes: Uint8Array;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Strips quotes and a weak prefix from an ETag. */
const etagValue = (v: string): string => v.replace(/^W\//, "").replace(/^"|"$/g, "");

/** One file at a pinned commit, read by HTTP ranges. */
export class HubFileSource implements ByteSource {
  readonly size: number;
  readonly #transport: HubTransport;
  readonly #resolveUrl: string;
  readonly #ctx: RequestContext;
  readonly #controller = new AbortController();
  readonly #commit: string;
  readonly #pinned: PinnedDigest;
  readonly #minFetch: number;
  readonly #maxWindow: number;
  readonly #maxCache: number;
  readonly #maxWholeFile: number;
  readonly #stats: TransferStats;
  #target: string | undefined;
  #segments: Segment[] = [];
  #cached = 0;
  #lastEnd = -1;
  #window: number;
  #sha256: Hash = createHash("sha256");
  #sha1: Hash | undefined;
  #hashedUpTo = 0;
  #problems: IntegrityProblem[] = [];
  #headersChecked = false;
  #closed = false;

  /**
   * @param params - transport, the `resolve` URL at the pinned commit, size and digests from the
   *   tree, the request context of the scan, read tuning
   */
  constructor(params: {
    transport: HubTransport;
    url: string;
    size: number;
    commit: string;
    pinned: PinnedDigest;
    ctx: RequestContext;
    options?: RangeReadOptions;
  }) {
    this.size = params.size;
    this.#transport = params.transport;
    this.#resolveUrl = params.url;
    this.#commit = params.commit;
    this.#pinned = params.pinned;
    this.#stats = { requests: 0, bytes: 0 };
    const parent = params.ctx;
    const own = this.#stats;
    // Count both into the scan's totals and this file's.
    const stats: TransferStats = {
      get requests() {
        return own.requests;
      },
      set requests(v: number) {
        parent.stats.requests += v - own.requests;
        own.requests = v;
      },
      get bytes() {
        return own.bytes;
      },
      set bytes(v: number) {
        parent.stats.bytes += v - own.bytes;
        own.bytes = v;
      },
    };
    this.#ctx = {
      origin: parent.origin,
      token: parent.token,
      signal: AbortSignal.any([parent.signal, this.#controller.signal]),
      stats,
    };
    const o = params.options ?? {};
    this.#minFetch = Math.max(1, o.minFetch ?? 64 << 10);
    this.#maxWindow = Math.max(this.#minFetch, o.maxWindow ?? 8 << 20);
    this.#maxCache = Math.max(this.#maxWindow, o.maxCache ?? 16 << 20);
    this.#maxWholeFile = o.maxWholeFile ?? 32 << 20;
    this.#window = this.#minFetch;
    if (params.pinned.gitSha1 !== undefined) {
      this.#sha1 = createHash("sha1").update(`blob ${params.size}\0`);
    }
  }

  /** @inheritdoc */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new ModelgateError("IO", "read after close");
    const start = Math.min(Math.max(0, offset), this.size);
    const end = Math.min(this.size, start + Math.max(0, length));
    if (end <= start) return new Uint8Array(0);
    const hit = this.#lookup(start, end);
    if (hit !== undefined) {
      this.#advance(start, end);
      return hit;
    }
    // Only the gaps between cached segments are fetched, and read-ahead stops where cached bytes
    // begin: a stream reaching the sniffer's tail read, or a read straddling two cached windows,
    // never transfers a byte twice.
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
      const need = Math.min(end, next);
      const fetchEnd = Math.min(this.size, next, Math.max(need, at + this.#window));
      const fetched = await this.#fetchRange(at, fetchEnd);
      this.#store(at, fetched);
      // A server that ignored Range answered with the rest of the file from `at`.
      const got = fetched.subarray(0, Math.min(fetched.length, end - at));
      if (got.length === 0) break;
      parts.push(got);
      at += got.length;
    }
    this.#advance(start, end);
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

  /** Bytes of this file transferred so far. */
  get bytesFetched(): number {
    return this.#stats.bytes;
  }

  /**
   * Hashes whatever was not fetched yet, when `full`, then reports where integrity stands.
   * Reading the rest streams it in large ranges (a few in flight) without caching it.
   * @param full - read the rest of the file to complete the digest
   * @param signal - aborts the remaining reads
   */
  async integrity(full: boolean, signal?: AbortSignal): Promise<IntegrityState> {
    if (full && this.#hashedUpTo < this.size && this.#problems.every((p) => p.check !== "size")) {
      await this.#hashRest(signal);
    }
    const complete = this.#hashedUpTo >= this.size;
    const problems = [...this.#problems];
    const state: { -readonly [K in keyof IntegrityState]: IntegrityState[K] } = {
      complete,
      problems,
      bytesFetched: this.#stats.bytes,
    };
    if (complete) {
      state.sha256 = this.#sha256.copy().digest("hex");
      if (this.#sha1 !== undefined) state.gitSha1 = this.#sha1.copy().digest("hex");
      const { sha256, gitSha1 } = this.#pinned;
      if (sha256 !== undefined && sha256 !== state.sha256) {
        problems.push({ check: "sha256", expected: sha256, actual: state.sha256 });
      }
      if (gitSha1 !== undefined && state.gitSha1 !== undefined && gitSha1 !== state.gitSha1) {
        problems.push({ check: "git-sha1", expected: gitSha1, actual: state.gitSha1 });
      }
    }
    return state;
  }

  async #hashRest(signal?: AbortSignal): Promise<void> {
    const chunk = this.#maxWindow;
    const depth = 3;
    const pending: Array<{ from: number; bytes: Promise<Uint8Array> }> = [];
    let next = this.#hashedUpTo;
    const ctxSignal = signal === undefined ? this.#ctx.signal : AbortSignal.any([this.#ctx.signal, signal]);
    const launch = () => {
      // Skip what cached segments already continue.
      if (next < this.#hashedUpTo) next = this.#hashedUpTo;
      if (next >= this.size) return;
      const from = next;
      const to = Math.min(this.size, from + chunk);
      next = to;
      const bytes = this.#fetchRange(from, to, ctxSignal);
      bytes.catch(() => undefined);
      pending.push({ from, bytes });
    };
    for (let i = 0; i < depth; i++) launch();
    while (pending.length > 0) {
      const { from, bytes } = pending.shift()!;
      this.#feed(from, await bytes);
      launch();
    }
  }

  #lookup(start: number, end: number): Uint8Array | undefined {
    for (const s of this.#segments) {
      if (s.start <= start && end <= s.start + s.bytes.length) {
        return s.bytes.subarray(start - s.start, end - s.start);
      }
    }
    return undefined;
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

  /** Start of the first cached segment beginning after `at` (the file's size when none does). */
  #nextCachedStart(at: number): number {
    let next = this.size;
    for (const s of this.#segments) if (s.start > at && s.start < next) next = s.start;
    return next;
  }

  #advance(_start: number, end: number): void {
    this.#lastEnd = end;
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

  /** Feeds newly fetched bytes to the digests when they continue the hashed prefix. */
  #feed(start: number, bytes: Uint8Array): void {
    const end = start + bytes.length;
    if (start > this.#hashedUpTo || end <= this.#hashedUpTo) return;
    const part = bytes.subarray(this.#hashedUpTo - start);
    this.#sha256.update(part);
    this.#sha1?.update(part);
    this.#hashedUpTo = end;
    // Cached segments fetched earlier further on may now continue the prefix.
    for (let progressed = true; progressed && this.#hashedUpTo < this.size; ) {
      progressed = false;
      for (const s of this.#segments) {
        const sEnd = s.start + s.bytes.length;
        if (s.start <= this.#hashedUpTo && sEnd > this.#hashedUpTo) {
          const more = s.bytes.subarray(this.#hashedUpTo - s.start);
          this.#sha256.update(more);
          this.#sha1?.update(more);
          this.#hashedUpTo = sEnd;
          progressed = true;
        }
      }
    }
  }

  /** Fetches `[start, end)`, checking the response; retries against the resolve URL once if the redirect target expired. */
  async #fetchRange(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    const ctx = signal === undefined ? this.#ctx : { ...this.#ctx, signal };
    for (let attempt = 0; ; attempt++) {
      const url = this.#target ?? this.#resolveUrl;
      try {
        return await this.#transport.send(
          {
            url,
            headers: { range: `bytes=${start}-${end - 1}`, "accept-encoding": "identity" },
            reserve: end - start,
          },
          ctx,
          (r) => this.#accept(r, start, end, url === this.#resolveUrl),
        );
      } catch (error) {
        // A cached CDN URL may have expired (signed URLs do): resolve again, once.
        if (attempt === 0 && this.#target !== undefined && (error as { expired?: boolean }).expired === true) {
          this.#target = undefined;
          continue;
        }
        throw error;
      }
    }
  }

  async #accept(r: HubResponse, start: number, end: number, fromResolve: boolean): Promise<Uint8Array> {
    const { response } = r;
    if (fromResolve) this.#checkHeaders(r);
    if (response.status === 416) {
      await response.body?.cancel().catch(() => undefined);
      const total = /^bytes \*\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1];
      this.#problem("size", String(this.size), total ?? "less than requested");
      throw new ModelgateError("NETWORK", `range ${start}-${end - 1} not satisfiable: the served file is shorter`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const s = response.status;
      if (!fromResolve && (s === 403 || s === 404 || s === 410)) {
        throw Object.assign(new ModelgateError("NETWORK", `HTTP ${s} from the file's download URL`), { expired: true });
      }
      const hint = s === 401 || s === 403 ? " (authentication required: set HF_TOKEN or pass a token)" : "";
      throw new ModelgateError("NETWORK", `HTTP ${s} reading ${this.#resolveUrl}${hint}`);
    }
    const encoding = response.headers.get("content-encoding");
    if (encoding !== null && encoding !== "identity") {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError("NETWORK", `range response is ${encoding}-encoded; byte offsets would be wrong`);
    }
    if (r.url !== this.#resolveUrl) this.#target = r.url;
    if (response.status === 200) return this.#acceptWhole(response, start, end);
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError("NETWORK", `unexpected HTTP ${response.status} to a range request`);
    }
    const m = CONTENT_RANGE.exec(response.headers.get("content-range") ?? "");
    if (m === null) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError("NETWORK", "206 response without a valid Content-Range");
    }
    const [first, last, total] = [Number(m[1]), Number(m[2]), m[3]!];
    if (total !== "*" && Number(total) !== this.size) {
      await response.body?.cancel().catch(() => undefined);
      this.#problem("size", String(this.size), total);
      throw new ModelgateError("NETWORK", `served file has ${total} bytes; the commit's tree says ${this.size}`);
    }
    if (first !== start || last !== end - 1) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError("NETWORK", `asked for bytes ${start}-${end - 1}, got ${first}-${last}`);
    }
    return readExactBody(response, end - start, this.#ctx.stats);
  }

  /** A 200 to a range request: the server ignored `Range`. Small files are taken whole. */
  async #acceptWhole(response: Response, start: number, end: number): Promise<Uint8Array> {
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (this.size > this.#maxWholeFile || (Number.isFinite(declared) && declared > this.#maxWholeFile)) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError(
        "NETWORK",
        `server ignores Range requests; the file (${this.size} bytes) is larger than the ${this.#maxWholeFile}-byte whole-file limit`,
      );
    }
    const whole = await readBody(response, this.#maxWholeFile, this.#ctx.stats).catch((error: unknown) => {
      if (error instanceof TransientError) throw error;
      throw new ModelgateError("NETWORK", `server ignored Range and sent more than ${this.#maxWholeFile} bytes`);
    });
    if (whole.length !== this.size) {
      this.#problem("size", String(this.size), String(whole.length));
      throw new ModelgateError("NETWORK", `served file has ${whole.length} bytes; the commit's tree says ${this.size}`);
    }
    // Keep the whole file (it is small) and answer the range from it.
    this.#feed(0, whole);
    this.#segments = [{ start: 0, bytes: whole }];
    this.#cached = whole.length;
    // The caller stores what it gets at `start`; hand it the rest of the file from there.
    return whole.subarray(start, Math.max(end, this.size));
  }

  #checkHeaders(r: HubResponse): void {
    if (this.#headersChecked) return;
    this.#headersChecked = true;
    for (const headers of [...r.redirects, r.response.headers]) {
      const commit = headers.get("x-repo-commit");
      if (commit !== null && commit !== this.#commit) this.#problem("commit", this.#commit, commit);
      const size = headers.get("x-linked-size");
      if (size !== null && Number(size) !== this.size) this.#problem("linked-size", String(this.size), size);
      const etag = headers.get("x-linked-etag");
      const value = etag === null ? undefined : etagValue(etag);
      if (
        value !== undefined &&
        this.#pinned.sha256 !== undefined &&
        HEX64.test(value) &&
        value !== this.#pinned.sha256
      ) {
        this.#problem("etag", this.#pinned.sha256, value);
      }
    }
  }

  #problem(check: string, expected: string, actual: string): void {
    if (!this.#problems.some((p) => p.check === check)) this.#problems.push({ check, expected, actual });
  }
}
