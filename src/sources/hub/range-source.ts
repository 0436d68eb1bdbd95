/**
 * A {@link ByteSource} over one file of a Hub repository at a pinned commit, read with HTTP range
 * requests: every response is checked (206, `Content-Range`, length), a small segment cache and
 * adaptive read-ahead keep the sniffer's and parsers' header reads to a few requests, and the bytes
 * fetched in order from the start are hashed so a file read whole is verified for free.
 *
 * The reading is a {@link RangeReader}'s, so the analysed bytes are the hashed bytes: every range is
 * fetched fresh once, and a range fetched again (evicted from the cache, or read to complete the
 * digest) must hash as it did the first time; a server that answers otherwise is a `NETWORK` error.
 * @module
 */
import { createHash } from "node:crypto";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { RangeReader } from "../http/range-reader.js";
import {
  type HubResponse,
  type HubTransport,
  type RequestContext,
  readBody,
  readExactChunks,
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
  readonly #maxWholeFile: number;
  readonly #stats: TransferStats;
  readonly #reader: RangeReader;
  #target: string | undefined;
  /** The whole file, when a server ignored `Range` and sent it: later ranges are cut from it. */
  #whole: Uint8Array | undefined;
  #problems: IntegrityProblem[] = [];
  #headersChecked = false;

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
    this.#maxWholeFile = o.maxWholeFile ?? 32 << 20;
    // The git blob SHA-1 (header, then the content), fed by the reader with the SHA-256.
    const sha1 = params.pinned.gitSha1 === undefined ? undefined : createHash("sha1").update(`blob ${params.size}\0`);
    this.#reader = new RangeReader({
      size: params.size,
      fetch: (start, end, signal) => this.#fetchRange(start, end, signal),
      signal: this.#ctx.signal,
      bytesFetched: () => this.#stats.bytes,
      options: o,
      alsoHash: sha1,
    });
  }

  /** @inheritdoc */
  read(offset: number, length: number): Promise<Uint8Array> {
    return this.#reader.read(offset, length);
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    this.#controller.abort(new ModelgateError("ABORTED", "source closed"));
    this.#whole = undefined;
    await this.#reader.close();
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
    // A file taken whole is in hand: completing its digest costs no request.
    const rest = (full || this.#whole !== undefined) && this.#problems.every((p) => p.check !== "size");
    const digest = await this.#reader.digest(rest, signal);
    const { complete } = digest;
    const problems = [...this.#problems];
    const state: { -readonly [K in keyof IntegrityState]: IntegrityState[K] } = {
      complete,
      problems,
      bytesFetched: this.#stats.bytes,
    };
    if (complete && digest.sha256 !== undefined) {
      state.sha256 = digest.sha256;
      if (digest.alsoDigest !== undefined) state.gitSha1 = digest.alsoDigest;
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

  /** Fetches `[start, end)`, checking the response; retries against the resolve URL once if the redirect target expired. */
  async #fetchRange(start: number, end: number, signal: AbortSignal): Promise<Uint8Array | Uint8Array[]> {
    if (this.#whole !== undefined) return this.#whole.subarray(start, end);
    const ctx = { ...this.#ctx, signal };
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

  async #accept(r: HubResponse, start: number, end: number, fromResolve: boolean): Promise<Uint8Array | Uint8Array[]> {
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
    return readExactChunks(response, end - start, this.#ctx.stats);
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
    // Keep the whole file (it is small) and answer this range and every later one from it; the
    // reader checks each against what it fetched before, like any other fetch.
    this.#whole = whole;
    return whole.subarray(start, end);
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
