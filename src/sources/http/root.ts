/**
 * One `https://` URL as a scan root: a single file (a directory listing is never guessed), read by
 * checked ranges when the server supports them, else by one full streamed read that is hashed.
 * A pinned SHA-256 (`#sha256=`, the `sha256` option or a `pins` entry) is checked against every
 * byte read as the Hub source does.
 * @module
 */
import { createHash } from "node:crypto";
import { type FileHandle, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BufferSource, type ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import type { FileVerification, OpenOptions, RootEntry, ScanRoot, Target } from "../../core/root.js";
import { FileChangedError } from "../file.js";
import { checkSha256, objectName, parseHeaderEnv, parseTargetUrl, redactUrl, type SourceEnv } from "./config.js";
import { RangeReader, type RangeReaderOptions, STREAM_RESERVE } from "./range-reader.js";
import {
  bodyChunks,
  type HubResponse as HttpResponse,
  HubTransport,
  type HubTransportOptions,
  pipeExactBody,
  type RequestContext,
  readExactBody,
  readExactChunks,
  type TransferStats,
  TransientError,
} from "./transport.js";

/** One URL to scan, as `scan({ url })` takes it. */
export interface HttpTarget {
  /** `https://…` (or `http://…` with `allowHttp`), optionally ending in `#sha256=<hex>`. */
  url: string;
  /** Expected SHA-256 of the content (same as `#sha256=`; they must agree). */
  sha256?: string;
  /** Accept a plain `http://` URL (default false: the bytes could be altered in transit). */
  allowHttp?: boolean;
  /**
   * `full` (the default when a digest is pinned): every byte is read and checked. `read` (the
   * default without a pin): only what the analyzers need is read; a pinned digest is checked when
   * they happened to read every byte, else the file is `partial` and the pin binds nothing analysed.
   */
  verify?: "read" | "full";
  /** Headers for the URL's origin only (added to those of `MODELGATE_HTTP_HEADERS`). */
  headers?: Record<string, string>;
  /** A shared transport (connection and bytes-in-flight budgets), or options for a private one. */
  transport?: HubTransport | HubTransportOptions;
  /** Range-read tuning. */
  read?: RangeReaderOptions;
  /**
   * When the server does not support ranges: largest download accepted (default 64 GiB) and
   * largest kept in memory rather than in an unlinked temporary file (default 32 MiB).
   */
  download?: { maxBytes?: number; maxMemoryBytes?: number };
  /** Environment to read `MODELGATE_HTTP_HEADERS` from (default `process.env`). */
  env?: SourceEnv;
}

/** Options a root gets from the scan. */
export interface RemoteRootOptions {
  /** Aborts the requests. */
  signal?: AbortSignal | undefined;
  /** The scan's `pins` (expected SHA-256 by path): a pin for the listed name is the pinned digest. */
  pins?: Readonly<Record<string, string>> | undefined;
  /**
   * The scan's `limits.maxFileBytes` (`--max-size`): a file over it is listed with its size and
   * never downloaded (the engine reports it `scan/too-large`), also when the server ignores Range
   * and would send it whole.
   */
  maxFileBytes?: number | undefined;
  /**
   * Whether the scan analyses a listed path (its `include`/`exclude`): a file it leaves out is
   * listed but not downloaded.
   */
  selected?: ((path: string) => boolean) | undefined;
}

/** The validators a server gave for the content: they must not change during the scan. */
interface Validators {
  etag?: string;
  lastModified?: string;
}

/** How the content is read (`unread`: listed only, as the scan will not open it). */
type Mode =
  | { kind: "range"; size: number; first: Uint8Array; validators: Validators }
  | { kind: "whole"; size: number; sha256: string; memory?: Uint8Array; handle?: FileHandle; validators: Validators }
  | { kind: "unread"; size: number; why: string; validators: Validators };

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;
const PROBE = 64 << 10;

/** Strong ETag of a response (weak ones do not promise identical bytes). */
const strongEtag = (h: Headers): string | undefined => {
  const v = h.get("etag")?.trim();
  return v === undefined || v === "" || v.startsWith("W/") ? undefined : v;
};

const validatorsOf = (h: Headers): Validators => {
  const etag = strongEtag(h);
  const lastModified = h.get("last-modified")?.trim();
  return {
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined || lastModified === "" ? {} : { lastModified }),
  };
};

/** A file read over HTTP from one URL. */
export class HttpRoot implements ScanRoot {
  readonly #options: HttpTarget;
  readonly #url: string;
  readonly #display: string;
  readonly #name: string;
  readonly #transport: HubTransport;
  readonly #ctx: { -readonly [K in keyof RequestContext]: RequestContext[K] };
  readonly #pinSources: ReadonlyArray<{ digest: string; from: string }>;
  readonly #pins: Readonly<Record<string, string>> | undefined;
  readonly #maxFileBytes: number;
  readonly #selected: (path: string) => boolean;
  #pinned: string | undefined;
  #mode: Mode | undefined;
  #spool: string | undefined;

  /**
   * @param options - the URL and how to read it
   * @param root - abort signal and the scan's pins
   * @throws ModelgateError `INVALID_ARGUMENT` for a bad URL, a plain `http://` URL without
   *   `allowHttp`, a bad digest or bad `MODELGATE_HTTP_HEADERS`
   */
  constructor(options: HttpTarget, root: RemoteRootOptions = {}) {
    const parsed = parseTargetUrl(options.url, options.allowHttp === true);
    this.#options = options;
    this.#url = parsed.url.href;
    this.#display = redactUrl(parsed.url.href);
    this.#name = objectName(parsed.url.pathname);
    const env = options.env ?? process.env;
    const origin = parsed.url.origin;
    const headers: Record<string, string> = { ...parseHeaderEnv(env.MODELGATE_HTTP_HEADERS).get(origin) };
    if (parsed.basicAuth !== undefined) headers.authorization = parsed.basicAuth;
    for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
    this.#transport =
      options.transport instanceof HubTransport ? options.transport : new HubTransport(options.transport ?? {});
    this.#ctx = {
      origin,
      headers,
      describe: redactUrl,
      signal: root.signal ?? new AbortController().signal,
      stats: { requests: 0, bytes: 0 },
    };
    const pins: Array<{ digest: string; from: string }> = [];
    if (parsed.sha256 !== undefined) pins.push({ digest: parsed.sha256, from: "#sha256=" });
    if (options.sha256 !== undefined) pins.push({ digest: checkSha256(options.sha256, "sha256"), from: "sha256" });
    this.#pinSources = pins;
    this.#pins = root.pins;
    this.#maxFileBytes = root.maxFileBytes ?? Number.POSITIVE_INFINITY;
    this.#selected = root.selected ?? (() => true);
    this.#pinned = pins[0]?.digest;
  }

  /** Transfer counters of this root. */
  get stats(): TransferStats {
    return this.#ctx.stats;
  }

  /**
   * Whether every byte is read and verified: `verify: "full"`, or by default when a digest is
   * pinned (a server may answer ranges with other bytes than the file it serves whole, so a pinned
   * digest binds what was analysed only when every byte was checked against it).
   */
  get #full(): boolean {
    return this.#options.verify === "full" || (this.#options.verify === undefined && this.#pinned !== undefined);
  }

  /** What is scanned: the URL without credentials, its validators and pinned digest, the transfer. */
  get target(): Target {
    const v = this.#mode?.validators ?? {};
    return {
      kind: "url",
      name: this.#display,
      http: {
        url: this.#display,
        ...(v.etag === undefined ? {} : { etag: v.etag }),
        ...(v.lastModified === undefined ? {} : { lastModified: v.lastModified }),
        ...(this.#pinned === undefined ? {} : { sha256: this.#pinned }),
        requests: this.#ctx.stats.requests,
        bytesTransferred: this.#ctx.stats.bytes,
      },
    };
  }

  /** @inheritdoc */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    this.#ctx.signal = AbortSignal.any([this.#ctx.signal, signal]);
    const pin = this.#pins?.[this.#name];
    const all = [...this.#pinSources];
    if (pin !== undefined) all.push({ digest: checkSha256(pin, `pins["${this.#name}"]`), from: "pins" });
    const first = all[0];
    const conflict = all.find((p) => p.digest !== first?.digest);
    if (conflict !== undefined) {
      throw new ModelgateError("INVALID_ARGUMENT", `${first?.from} and ${conflict.from} pin different SHA-256 digests`);
    }
    this.#pinned = first?.digest;
    try {
      this.#mode = await this.#probe();
    } catch (error) {
      if (signal.aborted) throw toModelgateError(signal.reason ?? error);
      const e = toModelgateError(error);
      yield { path: this.#name, size: 0, kind: "unreadable", error: e.message, errorCode: e.code };
      return;
    }
    yield {
      path: this.#name,
      size: this.#mode.size,
      kind: "file",
      ...(this.#pinned === undefined ? {} : { sha256: this.#pinned }),
    };
  }

  /** @inheritdoc */
  open(path: string, options: OpenOptions = {}): Promise<ByteSource> {
    const mode = this.#mode;
    if (mode === undefined || path !== this.#name) {
      return Promise.reject(new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`));
    }
    if (mode.kind === "unread") {
      return Promise.reject(new ModelgateError("BUDGET_EXCEEDED", `${this.#display}: not downloaded (${mode.why})`));
    }
    if (mode.kind === "whole") {
      if (mode.memory !== undefined) return Promise.resolve(new BufferSource(mode.memory));
      const handle = mode.handle!;
      return Promise.resolve({
        size: mode.size,
        read: async (offset: number, length: number) => {
          const start = Math.min(Math.max(0, offset), mode.size);
          const n = Math.min(mode.size - start, Math.max(0, length));
          const out = new Uint8Array(n);
          let at = 0;
          while (at < n) {
            const { bytesRead } = await handle.read(out, at, n - at, start + at);
            if (bytesRead === 0) throw new ModelgateError("IO", "the downloaded copy ended early");
            at += bytesRead;
          }
          return out;
        },
      });
    }
    const signal =
      options.signal === undefined ? this.#ctx.signal : AbortSignal.any([this.#ctx.signal, options.signal]);
    const read: RangeReaderOptions = { ...this.#options.read };
    if (this.#full) read.minFetch ??= read.maxWindow ?? 8 << 20;
    return Promise.resolve(
      new RangeReader({
        size: mode.size,
        fetch: (start, end, s) =>
          this.#fetchRange(mode, start, end, s, end - start, (response) =>
            readExactChunks(response, end - start, this.#ctx.stats),
          ),
        stream: (start, end, s, begin) =>
          this.#fetchRange(mode, start, end, s, Math.min(end - start, STREAM_RESERVE), (response, attempt) =>
            pipeExactBody(response, end - start, this.#ctx.stats, () => begin(attempt)),
          ),
        signal,
        bytesFetched: () => this.#ctx.stats.bytes,
        initial: { start: 0, bytes: mode.first },
        options: read,
        // Every byte will be read: hash on another thread while this one downloads.
        hashInWorker: this.#full,
      }),
    );
  }

  /** @inheritdoc */
  async verifyFile(
    _path: string,
    source: ByteSource,
    signal: AbortSignal,
    options: { full?: boolean } = {},
  ): Promise<FileVerification> {
    const mode = this.#mode;
    if (mode === undefined) return {};
    let sha256: string | undefined;
    if (mode.kind === "whole") sha256 = mode.sha256;
    else if (source instanceof RangeReader) {
      sha256 = (await source.digest(options.full ?? this.#full, signal)).sha256;
    }
    return remoteVerification({
      sha256,
      pinned: this.#pinned,
      bytesFetched: this.#ctx.stats.bytes,
      where: this.#display,
    });
  }

  /** Closes and forgets the downloaded copy, if any. */
  async close(): Promise<void> {
    const mode = this.#mode;
    if (mode?.kind === "whole") await mode.handle?.close().catch(() => undefined);
    if (this.#spool !== undefined) await rm(this.#spool, { recursive: true, force: true }).catch(() => undefined);
  }

  /**
   * The first request: a range for the head. A checked 206 with a validator means ranges are
   * supported; a 200 (or a 206 without a validator) means the content is read whole, once.
   */
  async #probe(): Promise<Mode> {
    const probed = await this.#transport.send(
      { url: this.#url, headers: { range: `bytes=0-${PROBE - 1}`, "accept-encoding": "identity" }, reserve: PROBE },
      this.#ctx,
      async (r): Promise<Mode | "download"> => {
        const { response } = r;
        await this.#checkStatus(r);
        if (response.status === 416) {
          await response.body?.cancel().catch(() => undefined);
          if (/^bytes \*\/0$/.test(response.headers.get("content-range") ?? "")) return "download"; // empty
          throw new ModelgateError("NETWORK", `${this.#display}: range 0-${PROBE - 1} not satisfiable`);
        }
        // The server ignores Range: this answer is the one full read.
        if (response.status === 200) return this.#consumeWhole(response);
        const encoding = response.headers.get("content-encoding");
        if (encoding !== null && encoding !== "identity") {
          await response.body?.cancel().catch(() => undefined);
          throw new ModelgateError("NETWORK", `range response is ${encoding}-encoded; byte offsets would be wrong`);
        }
        const validators = validatorsOf(response.headers);
        const m = CONTENT_RANGE.exec(response.headers.get("content-range") ?? "");
        if (m === null) {
          await response.body?.cancel().catch(() => undefined);
          throw new ModelgateError("NETWORK", `${this.#display}: 206 response without a valid Content-Range`);
        }
        const [first, last, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
        if (first !== 0 || last !== Math.min(size, PROBE) - 1 || !Number.isSafeInteger(size)) {
          await response.body?.cancel().catch(() => undefined);
          throw new ModelgateError(
            "NETWORK",
            `${this.#display}: asked for bytes 0-${PROBE - 1}, got ${first}-${last}/${size}`,
          );
        }
        if (validators.etag === undefined && validators.lastModified === undefined) {
          // Nothing tells a later range that the content is still the same: read it whole, once.
          await response.body?.cancel().catch(() => undefined);
          return "download";
        }
        const bytes = await readExactBody(response, last + 1, this.#ctx.stats);
        return { kind: "range", size, first: bytes, validators };
      },
    );
    return probed === "download" ? this.#download() : probed;
  }

  /** One full GET, read as {@link HttpRoot.#consumeWhole} does. */
  async #download(): Promise<Mode> {
    return this.#transport.send(
      { url: this.#url, headers: { "accept-encoding": "identity" }, reserve: 8 << 20 },
      this.#ctx,
      async (r) => {
        await this.#checkStatus(r);
        if (r.response.status !== 200) {
          await r.response.body?.cancel().catch(() => undefined);
          throw new ModelgateError("NETWORK", `unexpected HTTP ${r.response.status} from ${this.#display}`);
        }
        return this.#consumeWhole(r.response);
      },
    );
  }

  /**
   * One full streamed read, hashed as it arrives; kept in memory or in an unlinked temporary file.
   * A file the scan leaves out, or one over `maxFileBytes` (by its Content-Length, else once more
   * bytes than that arrived), is abandoned: listed with its size, never downloaded.
   */
  async #consumeWhole(response: Response): Promise<Mode> {
    const maxBytes = this.#options.download?.maxBytes ?? 64 * 1024 ** 3;
    const maxMemory = this.#options.download?.maxMemoryBytes ?? 32 << 20;
    const encoding = response.headers.get("content-encoding");
    if (encoding !== null && encoding !== "identity") {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError(
        "NETWORK",
        `${this.#display} is ${encoding}-encoded; refusing to analyse a transformed body`,
      );
    }
    const lengthHeader = response.headers.get("content-length");
    const declared = lengthHeader === null ? undefined : Number(lengthHeader);
    if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelgateError("NETWORK", `${this.#display}: invalid Content-Length`);
    }
    const tooLarge = () =>
      new ModelgateError("BUDGET_EXCEEDED", `${this.#display} is larger than the ${maxBytes}-byte download limit`, {
        budget: "download.maxBytes",
      });
    const unread = async (size: number, why: string): Promise<Mode> => {
      await response.body?.cancel().catch(() => undefined);
      return { kind: "unread", size, why, validators: validatorsOf(response.headers) };
    };
    if (!this.#selected(this.#name)) return unread(declared ?? 0, "left out by include/exclude");
    const overLimit = `over the scan's ${this.#maxFileBytes}-byte limit (maxFileBytes, --max-size)`;
    if (declared !== undefined && declared > this.#maxFileBytes) return unread(declared, overLimit);
    if (declared !== undefined && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const hash = createHash("sha256");
    const chunks: Uint8Array[] = [];
    let handle: FileHandle | undefined;
    let total = 0;
    try {
      for await (const chunk of bodyChunks(response, this.#ctx.stats)) {
        total += chunk.length;
        if (total > this.#maxFileBytes) {
          // leaving the loop cancels the body; the size listed is what arrived, already too much
          await handle?.close().catch(() => undefined);
          return unread(total, overLimit);
        }
        if (total > maxBytes) throw tooLarge();
        if (declared !== undefined && total > declared) {
          throw new ModelgateError(
            "NETWORK",
            `${this.#display}: the server sent more than the ${declared} bytes it announced`,
          );
        }
        hash.update(chunk);
        if (handle === undefined && total > maxMemory) {
          handle = await this.#spoolFile();
          for (const c of chunks) await handle.write(c);
          chunks.length = 0;
        }
        if (handle === undefined) chunks.push(chunk);
        else await handle.write(chunk);
      }
      if (declared !== undefined && total < declared) {
        throw new TransientError(`body ended after ${total} of ${declared} bytes`);
      }
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw error;
    }
    const validators = validatorsOf(response.headers);
    const sha256 = hash.digest("hex");
    if (handle !== undefined) return { kind: "whole", size: total, sha256, handle, validators };
    const memory = Buffer.concat(chunks);
    return {
      kind: "whole",
      size: total,
      sha256,
      memory: new Uint8Array(memory.buffer, memory.byteOffset, total),
      validators,
    };
  }

  /** A temporary file only this process can reach: created 0600, its name removed at once. */
  async #spoolFile(): Promise<FileHandle> {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-http-"));
    this.#spool = dir;
    const path = join(dir, "content");
    const handle = await open(path, "wx+", 0o600);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    this.#spool = undefined;
    return handle;
  }

  /** Throws a typed error for a failed status (412 and 416 are left to the caller). */
  async #checkStatus(r: HttpResponse): Promise<void> {
    const { response } = r;
    const s = response.status;
    if (response.ok || s === 416 || s === 412) return;
    await response.body?.cancel().catch(() => undefined);
    const hint = s === 401 || s === 403 ? " (authentication required: see MODELGATE_HTTP_HEADERS)" : "";
    throw new ModelgateError("NETWORK", `HTTP ${s} from ${this.#display}${hint}`);
  }

  /**
   * Fetches `[start, end)` (`reserve` bytes counted in flight), checks the answer is that range of
   * the same content, and hands its body to `read` (which reads exactly the range's bytes).
   */
  #fetchRange<T>(
    mode: Extract<Mode, { kind: "range" }>,
    start: number,
    end: number,
    signal: AbortSignal,
    reserve: number,
    read: (response: Response, attempt: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}`, "accept-encoding": "identity" };
    if (mode.validators.etag !== undefined) headers["if-match"] = mode.validators.etag;
    else if (mode.validators.lastModified !== undefined) headers["if-unmodified-since"] = mode.validators.lastModified;
    return this.#transport.send({ url: this.#url, headers, reserve }, { ...this.#ctx, signal }, async (r) => {
      const { response } = r;
      const changed = (what: string) => {
        response.body?.cancel().catch(() => undefined);
        return new FileChangedError(this.#name, `${what} (${this.#display})`);
      };
      await this.#checkStatus(r);
      if (response.status === 412)
        throw changed("the server says the content no longer matches its validator (HTTP 412)");
      if (response.status === 416)
        throw changed(`range ${start}-${end - 1} is no longer satisfiable: the content is shorter`);
      const encoding = response.headers.get("content-encoding");
      if (encoding !== null && encoding !== "identity") {
        await response.body?.cancel().catch(() => undefined);
        throw new ModelgateError("NETWORK", `range response is ${encoding}-encoded; byte offsets would be wrong`);
      }
      const now = validatorsOf(response.headers);
      if (mode.validators.etag !== undefined && now.etag !== mode.validators.etag) {
        throw changed(`ETag changed from ${mode.validators.etag} to ${now.etag ?? "none"}`);
      }
      if (mode.validators.lastModified !== undefined && now.lastModified !== mode.validators.lastModified) {
        throw changed(`Last-Modified changed from ${mode.validators.lastModified} to ${now.lastModified ?? "none"}`);
      }
      if (response.status !== 206) {
        await response.body?.cancel().catch(() => undefined);
        throw new ModelgateError(
          "NETWORK",
          `${this.#display}: HTTP ${response.status} to a range request (ranges were supported before)`,
        );
      }
      const m = CONTENT_RANGE.exec(response.headers.get("content-range") ?? "");
      if (m === null) {
        await response.body?.cancel().catch(() => undefined);
        throw new ModelgateError("NETWORK", `${this.#display}: 206 response without a valid Content-Range`);
      }
      const [first, last, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (total !== mode.size) throw changed(`its size changed from ${mode.size} to ${total} bytes`);
      if (first !== start || last !== end - 1) {
        await response.body?.cancel().catch(() => undefined);
        throw new ModelgateError(
          "NETWORK",
          `${this.#display}: asked for bytes ${start}-${end - 1}, got ${first}-${last}`,
        );
      }
      return read(response, r.signal);
    });
  }
}

/**
 * What a remote root says of an object after its analysis: its digest when every byte was read,
 * and, when a digest is pinned, the integrity record and a `remote/integrity-mismatch` finding
 * (high, invalidates) when they differ.
 * @param params - computed digest (when complete), the pinned one, bytes transferred, the object
 */
export function remoteVerification(params: {
  sha256: string | undefined;
  pinned: string | undefined;
  bytesFetched: number;
  where: string;
}): FileVerification {
  const { sha256, pinned } = params;
  const findings: FindingInput[] = [];
  const mismatch = pinned !== undefined && sha256 !== undefined && sha256 !== pinned;
  if (mismatch) {
    findings.push({
      ruleId: "remote/integrity-mismatch",
      message: `the bytes served for ${params.where} do not have the pinned SHA-256 (expected ${pinned}, got ${sha256})`,
      evidence: { check: "sha256", expected: pinned, actual: sha256 },
    });
  }
  const verification: FileVerification = { findings, cacheable: !mismatch };
  if (sha256 !== undefined) verification.sha256 = sha256;
  if (pinned !== undefined) {
    verification.integrity = {
      status: mismatch ? "mismatch" : sha256 !== undefined ? "verified" : "partial",
      algorithm: "sha256",
      expected: pinned,
      ...(sha256 === undefined ? {} : { actual: sha256 }),
      bytesFetched: params.bytesFetched,
    };
  }
  return verification;
}
