/**
 * Objects of an S3 (or S3-compatible) bucket under a prefix as a scan root: a budgeted
 * `ListObjectsV2` listing, ranged `GetObject` reads conditioned on the listed ETag (an object
 * replaced during the scan is a typed error), and the object's full-object SHA-256 checksum, when
 * it has one, used as the pinned digest. The AWS SDK is loaded only when an S3 target is scanned.
 * @module
 */

import type { HeadObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { pushAll } from "../../core/arrays.js";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import type { FileVerification, OpenOptions, RootEntry, ScanRoot, Target } from "../../core/root.js";
import { FileChangedError } from "../file.js";
import type { SourceEnv } from "../http/config.js";
import { RangeReader, type RangeReaderOptions, STREAM_RESERVE } from "../http/range-reader.js";
import { type RemoteRootOptions, remoteVerification } from "../http/root.js";
import { HubTransport, type HubTransportOptions, type TransferStats } from "../http/transport.js";
import { badRepoPath } from "../hub/config.js";
import { pipeExactly, readExactly } from "./body.js";
import { checkBucket, relativeKey } from "./config.js";

/** Budgets of an S3 listing; past any of them the listing stops and the scan is incomplete. */
export interface S3ListingLimits {
  /** Pages requested (default 10 000). */
  maxPages?: number;
  /** Keys received (default 1 000 000). */
  maxKeys?: number;
  /** Wall-clock budget of the whole listing, in milliseconds (default 600 000). */
  timeoutMs?: number;
  /** Keys asked for per page (default 1000, S3's maximum). */
  pageSize?: number;
}

/** An S3 prefix to scan, as `scan({ s3 })` takes it. */
export interface S3Target {
  /** Bucket name. */
  bucket: string;
  /** Key prefix: a folder (`models/`), or one object or folder name (`models/x`); default the whole bucket. */
  prefix?: string;
  /** `read` (default): objects read whole are verified; `full`: every object is read and verified. */
  verify?: "read" | "full";
  /** Path-style addressing (`endpoint/bucket/key`), for S3-compatible stores. */
  pathStyle?: boolean;
  /** Endpoint (default `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, else AWS). */
  endpoint?: string;
  /** Region (default `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`). */
  region?: string;
  /** Static credentials (default: the SDK's standard credential chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Listing budgets. */
  listing?: S3ListingLimits;
  /** Most objects listed before the listing is declared incomplete (default 100 000). */
  maxFiles?: number;
  /** A shared transport (its connection and bytes-in-flight budgets), or options for a private one. */
  transport?: HubTransport | HubTransportOptions;
  /** Range-read tuning. */
  read?: RangeReaderOptions;
  /** Environment to read `AWS_*` settings from (default `process.env`). */
  env?: SourceEnv;
}

interface Listed {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

interface Opened {
  readonly sha256?: string;
  readonly versionId?: string;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;
const DEFAULT_LISTING: Required<S3ListingLimits> = {
  maxPages: 10_000,
  maxKeys: 1_000_000,
  timeoutMs: 600_000,
  pageSize: 1000,
};

/** Status and name of an SDK error. */
function sdkStatus(error: unknown): { status: number | undefined; name: string } {
  const e = error as { $metadata?: { httpStatusCode?: unknown }; name?: unknown };
  const status = e?.$metadata?.httpStatusCode;
  return {
    status: typeof status === "number" ? status : undefined,
    name: typeof e?.name === "string" ? e.name : "Error",
  };
}

/** Objects of a bucket under a prefix. */
export class S3Root implements ScanRoot {
  readonly bucket: string;
  readonly prefix: string;
  readonly #options: S3Target;
  readonly #transport: HubTransport;
  readonly #stats: TransferStats = { requests: 0, bytes: 0 };
  readonly #files = new Map<string, Listed>();
  readonly #opened = new Map<string, Opened>();
  readonly #pins: Readonly<Record<string, string>> | undefined;
  #signal: AbortSignal;
  #client: Promise<{ client: S3Client; sdk: typeof import("@aws-sdk/client-s3") }> | undefined;

  /**
   * @param options - bucket, prefix and how to reach them
   * @param root - abort signal and the scan's pins
   */
  constructor(options: S3Target, root: RemoteRootOptions = {}) {
    checkBucket(options.bucket);
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? "";
    this.#options = options;
    this.#pins = root.pins;
    this.#signal = root.signal ?? new AbortController().signal;
    this.#transport =
      options.transport instanceof HubTransport ? options.transport : new HubTransport(options.transport ?? {});
  }

  /** What is scanned: bucket, prefix, version ids of what was read, the transfer. */
  get target(): Target {
    const versionIds: Record<string, string> = {};
    for (const [path, o] of [...this.#opened].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (o.versionId !== undefined) versionIds[path] = o.versionId;
    }
    return {
      kind: "s3",
      name: `s3://${this.bucket}/${this.prefix}`,
      s3: {
        bucket: this.bucket,
        prefix: this.prefix,
        ...(Object.keys(versionIds).length === 0 ? {} : { versionIds }),
        requests: this.#stats.requests,
        bytesTransferred: this.#stats.bytes,
      },
    };
  }

  /** The SDK client, loaded on first use. */
  #sdk(): Promise<{ client: S3Client; sdk: typeof import("@aws-sdk/client-s3") }> {
    this.#client ??= (async () => {
      const sdk = await import("@aws-sdk/client-s3");
      const env = this.#options.env ?? process.env;
      const o = this.#options;
      const endpoint = o.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
      const config: ConstructorParameters<typeof sdk.S3Client>[0] = {
        region: o.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
        forcePathStyle: o.pathStyle === true,
        maxAttempts: 3,
        // No SDK checksums beside modelgate's own: nothing is uploaded, and every read is a ranged
        // `GetObject` (S3 returns no checksum of a range, so the SDK would have nothing to check)
        // sent without `ChecksumMode`, so the SDK neither asks for nor validates a body checksum
        // and hands over the `node:http` response as it is. What is verified is modelgate's
        // SHA-256: mandatory for every byte under `verify: "full"`, and for every object read
        // whole otherwise; a mismatch makes the file invalid (`remoteVerification`).
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      };
      if (endpoint !== undefined && endpoint !== "") config.endpoint = endpoint;
      if (o.credentials !== undefined) config.credentials = o.credentials;
      else if (o.env !== undefined && env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined) {
        config.credentials = {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN === undefined ? {} : { sessionToken: env.AWS_SESSION_TOKEN }),
        };
      }
      return { client: new sdk.S3Client(config), sdk };
    })();
    return this.#client;
  }

  /** Maps an SDK failure to a typed error. */
  #error(error: unknown, what: string, path?: string): ModelgateError {
    if (error instanceof ModelgateError) return error;
    const { status, name } = sdkStatus(error);
    if (path !== undefined && (status === 412 || name === "PreconditionFailed")) {
      return new FileChangedError(path, `s3://${this.bucket}: the object no longer has the listed ETag (HTTP 412)`);
    }
    if (path !== undefined && (status === 404 || name === "NoSuchKey" || name === "NotFound")) {
      return new FileChangedError(path, `s3://${this.bucket}: the object no longer exists`);
    }
    const e = toModelgateError(error);
    if (e.code === "ABORTED" || e.code === "TIMEOUT") return e;
    const hint = status === 401 || status === 403 ? " (access denied: check the AWS credentials)" : "";
    return new ModelgateError("NETWORK", `${what}: ${name}${status === undefined ? "" : ` (HTTP ${status})`}${hint}`, {
      cause: error,
    });
  }

  /** @inheritdoc */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    this.#signal = AbortSignal.any([this.#signal, signal]);
    const limits = { ...DEFAULT_LISTING, ...this.#options.listing };
    const maxFiles = this.#options.maxFiles ?? 100_000;
    const clock = AbortSignal.any([this.#signal, AbortSignal.timeout(limits.timeoutMs)]);
    const problems: RootEntry[] = [];
    const fail = (error: string, code: "NETWORK" | "BUDGET_EXCEEDED" | "MALFORMED" | "TIMEOUT") =>
      problems.push({ path: ".", size: 0, kind: "unreadable", error, errorCode: code });
    const folder = this.prefix === "" || this.prefix.endsWith("/");
    const tokens = new Set<string>();
    let token: string | undefined;
    let pages = 0;
    let keys = 0;
    let last: string | undefined;
    const started = Date.now();
    try {
      const { client, sdk } = await this.#sdk();
      for (;;) {
        if (++pages > limits.maxPages) {
          fail(`the listing has more than ${limits.maxPages} pages`, "BUDGET_EXCEEDED");
          break;
        }
        if (Date.now() - started > limits.timeoutMs) throw new DOMException("listing budget", "TimeoutError");
        this.#stats.requests++;
        const page = await this.#transport.withBudget(1, clock, (s) =>
          client.send(
            new sdk.ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: this.prefix,
              MaxKeys: limits.pageSize,
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
            { abortSignal: s },
          ),
        );
        for (const item of page.Contents ?? []) {
          if (++keys > limits.maxKeys) break;
          const key = item.Key ?? "";
          // S3 lists keys in ascending order, once: anything else is a listing that changed under us.
          if (last !== undefined && key <= last) {
            throw new ModelgateError(
              "MALFORMED",
              "the listing is not in ascending key order (it changed while listed)",
            );
          }
          last = key;
          if (!folder && key !== this.prefix && !key.startsWith(`${this.prefix}/`)) continue;
          if (folder && !key.startsWith(this.prefix)) {
            // the store ignored the Prefix it was asked for: nothing outside it is read or named
            problems.push({
              path: `.outside-prefix-${problems.length}`,
              size: 0,
              kind: "unreadable",
              error: `the listing returned a key outside the prefix ${JSON.stringify(this.prefix)}: the store ignored the prefix; not scanned`,
            });
            continue;
          }
          if (key.endsWith("/") && (item.Size ?? 0) === 0) continue; // folder marker
          const path = relativeKey(key, this.prefix);
          const bad = badRepoPath(path);
          if (bad !== undefined) {
            problems.push({
              path: `.invalid-key-${problems.length}`,
              size: 0,
              kind: "unreadable",
              error: `key not scanned: ${bad}`,
            });
            continue;
          }
          const size = item.Size;
          if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || item.ETag === undefined) {
            problems.push({ path, size: 0, kind: "unreadable", error: "listed without a size or ETag; not read" });
            continue;
          }
          this.#files.set(path, { key, size, etag: item.ETag });
        }
        if (keys > limits.maxKeys) {
          fail(`the listing has more than ${limits.maxKeys} keys`, "BUDGET_EXCEEDED");
          break;
        }
        if (this.#files.size > maxFiles) {
          fail(`the listing has more than ${maxFiles} objects; the rest was not scanned`, "BUDGET_EXCEEDED");
          break;
        }
        if (page.IsTruncated !== true) break;
        token = page.NextContinuationToken;
        if (token === undefined || token === "")
          throw new ModelgateError("MALFORMED", "a truncated listing page without a continuation token");
        if (tokens.has(token))
          throw new ModelgateError("MALFORMED", "the listing's continuation token repeats an earlier one");
        tokens.add(token);
      }
    } catch (error) {
      if (signal.aborted) throw toModelgateError(signal.reason ?? error);
      if (clock.aborted || (error as { name?: string })?.name === "TimeoutError") {
        fail(
          `the listing did not finish within ${limits.timeoutMs} ms (${pages} pages, ${keys} keys)`,
          "BUDGET_EXCEEDED",
        );
      } else {
        const e = this.#error(error, `listing s3://${this.bucket}/${this.prefix}`);
        fail(e.message, e.code === "MALFORMED" || e.code === "BUDGET_EXCEEDED" ? e.code : "NETWORK");
      }
    }
    const entries: RootEntry[] = [...this.#files].map(([path, f]) => ({ path, size: f.size, kind: "file" as const }));
    pushAll(entries, problems);
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    yield* entries;
  }

  /** @inheritdoc */
  async open(path: string, options: OpenOptions = {}): Promise<ByteSource> {
    const listed = this.#files.get(path);
    if (listed === undefined) throw new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`);
    const signal = options.signal === undefined ? this.#signal : AbortSignal.any([this.#signal, options.signal]);
    const { client, sdk } = await this.#sdk();
    let head: HeadObjectCommandOutput;
    try {
      this.#stats.requests++;
      head = await this.#transport.withBudget(1, signal, (s) =>
        client.send(
          new sdk.HeadObjectCommand({
            Bucket: this.bucket,
            Key: listed.key,
            IfMatch: listed.etag,
            ChecksumMode: "ENABLED",
          }),
          { abortSignal: s },
        ),
      );
    } catch (error) {
      throw this.#error(error, `s3://${this.bucket}/${listed.key}`, path);
    }
    if (head.ContentLength !== listed.size) {
      throw new FileChangedError(path, `listed with ${listed.size} bytes, now ${String(head.ContentLength)}`);
    }
    // Only a full-object checksum is the SHA-256 of the content (a multipart upload's composite
    // checksum is a digest of part digests, written `<base64>-<parts>`).
    let sha256: string | undefined;
    const raw = head.ChecksumSHA256;
    if (
      raw !== undefined &&
      (head.ChecksumType === undefined || head.ChecksumType === "FULL_OBJECT") &&
      !raw.includes("-")
    ) {
      const bytes = Buffer.from(raw, "base64");
      if (bytes.length === 32) sha256 = bytes.toString("hex");
    }
    // A pin the caller gave (`pins`) wins over the object's own checksum.
    const pin = this.#pins?.[path]?.toLowerCase();
    if (pin !== undefined) sha256 = pin;
    const opened: Opened = {
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(head.VersionId === undefined || head.VersionId === "null" ? {} : { versionId: head.VersionId }),
    };
    this.#opened.set(path, opened);
    const read: RangeReaderOptions = { ...this.#options.read };
    if (this.#options.verify === "full") read.minFetch ??= read.maxWindow ?? 8 << 20;
    let fetched = 0;
    const count = (n: number) => {
      fetched += n;
      this.#stats.bytes += n;
    };
    const get = <T>(
      start: number,
      end: number,
      s: AbortSignal,
      read: (body: unknown, attempt: AbortSignal) => Promise<T>,
      reserve = end - start,
    ): Promise<T> => this.#getRange(client, sdk, { path, listed, opened }, start, end, s, reserve, read);
    return new RangeReader({
      size: listed.size,
      signal,
      bytesFetched: () => fetched,
      options: read,
      // Every byte will be read: hash on another thread while this one downloads.
      hashInWorker: this.#options.verify === "full",
      fetch: (start, end, s) => get(start, end, s, (body) => readExactly(body, end - start, count)),
      stream: (start, end, s, begin) =>
        get(
          start,
          end,
          s,
          (body, attempt) => pipeExactly(body, end - start, count, () => begin(attempt)),
          Math.min(end - start, STREAM_RESERVE),
        ),
    });
  }

  /**
   * One ranged `GetObject` of `[start, end)` conditioned on the listed ETag (and the version the
   * head returned), within the transport's budgets (`reserve` bytes in flight); the response must
   * be exactly that range of the same object, and its body goes to `read`.
   */
  async #getRange<T>(
    client: S3Client,
    sdk: typeof import("@aws-sdk/client-s3"),
    object: { path: string; listed: Listed; opened: Opened },
    start: number,
    end: number,
    signal: AbortSignal,
    reserve: number,
    read: (body: unknown, attempt: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { path, listed, opened } = object;
    this.#stats.requests++;
    try {
      return await this.#transport.withBudget(reserve, signal, async (attempt) => {
        const out = await client.send(
          new sdk.GetObjectCommand({
            Bucket: this.bucket,
            Key: listed.key,
            Range: `bytes=${start}-${end - 1}`,
            IfMatch: listed.etag,
            ...(opened.versionId === undefined ? {} : { VersionId: opened.versionId }),
          }),
          { abortSignal: attempt },
        );
        const m = CONTENT_RANGE.exec(out.ContentRange ?? "");
        if (m === null || Number(m[1]) !== start || Number(m[2]) !== end - 1 || Number(m[3]) !== listed.size) {
          (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
          throw new ModelgateError(
            "NETWORK",
            `s3://${this.bucket}/${listed.key}: asked for bytes ${start}-${end - 1}/${listed.size}, got ${out.ContentRange ?? "no Content-Range"}`,
          );
        }
        if (out.ETag !== undefined && out.ETag !== listed.etag) {
          (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
          throw new FileChangedError(path, `its ETag changed from ${listed.etag} to ${out.ETag}`);
        }
        return await read(out.Body, attempt);
      });
    } catch (error) {
      throw this.#error(error, `s3://${this.bucket}/${listed.key}`, path);
    }
  }

  /** @inheritdoc */
  async verifyFile(
    path: string,
    source: ByteSource,
    signal: AbortSignal,
    options: { full?: boolean } = {},
  ): Promise<FileVerification> {
    if (!(source instanceof RangeReader)) return {};
    const state = await source.digest(options.full ?? this.#options.verify === "full", signal);
    return remoteVerification({
      sha256: state.sha256,
      pinned: this.#opened.get(path)?.sha256,
      bytesFetched: state.bytesFetched,
      where: `s3://${this.bucket}/${this.#files.get(path)?.key ?? path}`,
    });
  }

  /** Releases the SDK client. */
  async close(): Promise<void> {
    const c = await this.#client?.catch(() => undefined);
    c?.client.destroy();
  }
}
