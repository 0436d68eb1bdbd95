/**
 * An OCI artifact as a scan root: a registry reference (`oci://registry/repo:tag` or `@sha256:…`)
 * or an image-layout directory. The reference is resolved once to a digest (checked against the
 * bytes and the registry's `Docker-Content-Digest`); a manifest's config and layers are the files,
 * and an index gives those of every manifest it lists, each under its own folder (resolve.ts).
 * Each blob is read by checked ranges (or from disk) and verified against its descriptor.
 * @module
 */
import { createHash } from "node:crypto";
import { lstat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type ByteSource, readChunks } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import type { FileVerification, OpenOptions, RootEntry, ScanRoot, Target } from "../../core/root.js";
import { FileSource } from "../file.js";
import { RangeReader, type RangeReaderOptions } from "../http/range-reader.js";
import { remoteVerification } from "../http/root.js";
import { HubTransport, type HubTransportOptions, type TransferStats } from "../http/transport.js";
import { RegistryClient } from "./client.js";
import {
  checkDigest,
  contentMatches,
  expectedContent,
  formatOciUri,
  isLoopback,
  type OciEnv,
  type OciLayoutReference,
  type OciReference,
  parseOciLayoutUri,
  parseOciUri,
  resolveCredentials,
} from "./config.js";
import { type BlobEntry, DEFAULT_OCI_LIMITS, type Descriptor, type OciLimits, parseManifest } from "./manifest.js";
import { type FetchDocument, type Resolved, resolveReference } from "./resolve.js";

/** An OCI artifact to scan, as `scan({ oci })` takes it. */
export interface OciTarget {
  /** `oci://registry[:port]/repository[:tag][@sha256:…]` or `oci-layout:DIR[:ref]`. */
  reference: string;
  /**
   * `os/arch[/variant]` a runtime will pull from an index: the index must list a manifest for it
   * (else the scan is `invalid`), and `target.oci.manifestDigest` names it. Every manifest of the
   * index is scanned whatever this says.
   */
  platform?: string;
  /**
   * Plain HTTP for a registry that is not on loopback (HTTPS is tried first). Loopback registries
   * (`localhost`, `127.0.0.0/8`, `[::1]`) are spoken to in plain HTTP without it.
   */
  allowHttp?: boolean;
  /**
   * `full` (default): every blob is read whole and checked against its descriptor's digest. `read`:
   * only what the analyzers need is read, a blob's digest is checked when they happened to read
   * every byte, else the file is `partial` — and then what was analysed is bound to the digest
   * only by the registry's word: a registry may answer ranges with other bytes than the blob it
   * serves whole, which the report would still name by that blob's digest.
   */
  verify?: "read" | "full";
  /** Credentials instead of `MODELGATE_OCI_AUTH` / the docker config. */
  credentials?: { username: string; password: string };
  /** A docker `config.json` to take credentials from (default `$DOCKER_CONFIG` or `~/.docker`). */
  dockerConfig?: string;
  /** A shared transport, or options for a private one (`requestTimeoutMs` is every request's deadline). */
  transport?: HubTransport | HubTransportOptions;
  /** Range-read tuning. */
  read?: RangeReaderOptions;
  /** Budgets: manifest size, layers, index depth, total bytes. */
  limits?: OciLimits;
  /** Largest blob taken whole from a registry that ignores `Range` (default 32 MiB). */
  maxWholeBlobBytes?: number;
  /** Environment for `MODELGATE_OCI_AUTH`, `DOCKER_CONFIG`, `HOME` (default `process.env`). */
  env?: OciEnv;
}

/** What is common to registry and layout roots: resolution, listing, naming, verification. */
abstract class OciRootBase implements ScanRoot {
  protected readonly options: OciTarget;
  protected readonly limits: Required<OciLimits>;
  protected resolved: Resolved | undefined;
  protected readonly blobs = new Map<string, BlobEntry>();
  /** Blobs served with another size than their descriptor's: the size served, by path. */
  protected readonly sizeProblems = new Map<string, string>();
  protected signal: AbortSignal;

  constructor(options: OciTarget, signal: AbortSignal | undefined) {
    // Every blob has a digest: by default it binds every byte analysed (see `verify`).
    this.options = { ...options, verify: options.verify ?? "full" };
    this.signal = signal ?? new AbortController().signal;
    const limits = { ...DEFAULT_OCI_LIMITS };
    for (const [k, v] of Object.entries(options.limits ?? {})) {
      if (v === undefined) continue;
      if (typeof v !== "number" || !(v > 0))
        throw new ModelgateError("INVALID_ARGUMENT", `oci limits.${k} must be a positive number`);
      limits[k as keyof OciLimits] = v;
    }
    this.limits = limits;
  }

  abstract get target(): Target;
  protected abstract resolve(): Promise<Resolved>;
  protected abstract listed(entry: BlobEntry): Promise<RootEntry>;
  abstract open(path: string, options?: OpenOptions): Promise<ByteSource>;
  protected abstract digestOf(
    source: ByteSource,
    full: boolean,
    signal: AbortSignal,
  ): Promise<{ sha256?: string; bytesFetched: number }>;

  /** @inheritdoc */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    this.signal = AbortSignal.any([this.signal, signal]);
    let resolved: Resolved;
    try {
      resolved = await this.resolve();
    } catch (error) {
      if (signal.aborted) throw toModelgateError(signal.reason ?? error);
      const e = toModelgateError(error);
      yield { path: ".", size: 0, kind: "unreadable", error: e.message, errorCode: e.code };
      return;
    }
    this.resolved = resolved;
    for (const u of resolved.unreadable)
      yield { path: u.path, size: 0, kind: "unreadable", error: u.error, errorCode: u.code };
    for (const entry of resolved.entries) {
      if (entry.problem !== undefined) {
        yield {
          path: entry.path,
          size: 0,
          kind: "unreadable",
          error: entry.problem.error,
          errorCode: entry.problem.code,
        };
        continue;
      }
      this.blobs.set(entry.path, entry);
      yield await this.listed(entry);
    }
  }

  /** @inheritdoc */
  async verifyFile(
    path: string,
    source: ByteSource,
    signal: AbortSignal,
    options: { full?: boolean } = {},
  ): Promise<FileVerification> {
    const entry = this.blobs.get(path);
    if (entry === undefined) return {};
    const served = this.sizeProblems.get(path);
    if (served !== undefined) {
      const expected = entry.descriptor.digest.slice(7);
      return {
        cacheable: false,
        findings: [
          {
            ruleId: "remote/integrity-mismatch",
            message: `the ${entry.role} ${entry.descriptor.digest} is ${served} bytes as served; its descriptor says ${entry.descriptor.size}`,
            evidence: { check: "size", expected: entry.descriptor.size, actual: served },
          },
        ],
        integrity: { status: "mismatch", algorithm: "sha256", expected, bytesFetched: 0 },
      };
    }
    const { sha256, bytesFetched } = await this.digestOf(
      source,
      options.full ?? this.options.verify === "full",
      signal,
    );
    const verification = remoteVerification({
      sha256,
      pinned: entry.descriptor.digest.slice("sha256:".length),
      bytesFetched,
      where: `${entry.role} ${entry.descriptor.digest}`,
    });
    const findings: FindingInput[] = [...(verification.findings ?? [])];
    const expected = expectedContent(entry.descriptor.mediaType);
    if (expected !== undefined && source.size > 0) {
      const head = await source.read(0, Math.min(16, source.size));
      if (!contentMatches(expected, head, source.size)) {
        findings.push({
          ruleId: "oci/media-type-mismatch",
          message: `the ${entry.role} is announced as ${entry.descriptor.mediaType} but its bytes are not ${expected}`,
          evidence: { mediaType: entry.descriptor.mediaType, expected, digest: entry.descriptor.digest },
        });
      }
    }
    return { ...verification, findings };
  }

  /** The report's `oci` record. */
  protected record(
    base: { registry: string; repository: string; reference: string; layout?: string },
    stats?: TransferStats,
  ): Target["oci"] {
    const r = this.resolved;
    if (r === undefined) return undefined;
    return {
      ...base,
      digest: r.digest,
      mediaType: r.mediaType,
      ...(r.manifestDigest === undefined ? {} : { manifestDigest: r.manifestDigest }),
      ...(r.platform === undefined ? {} : { platform: r.platform }),
      ...(r.artifactType === undefined ? {} : { artifactType: r.artifactType }),
      ...(r.manifests === undefined ? {} : { manifests: r.manifests }),
      ...(stats === undefined ? {} : { requests: stats.requests, bytesTransferred: stats.bytes }),
    };
  }
}

/** An artifact in a registry, read over the distribution API. */
export class OciRegistryRoot extends OciRootBase {
  readonly ref: OciReference;
  readonly #transport: HubTransport;
  #client: RegistryClient | undefined;
  readonly stats: TransferStats = { requests: 0, bytes: 0 };
  readonly #fetched = new Map<string, { n: number }>();

  /**
   * @param options - the reference and how to read it
   * @param signal - aborts every request
   * @throws ModelgateError `INVALID_ARGUMENT` for a bad reference or plain HTTP refused
   */
  constructor(options: OciTarget, signal?: AbortSignal) {
    super(options, signal);
    this.ref = parseOciUri(options.reference);
    this.#transport =
      options.transport instanceof HubTransport ? options.transport : new HubTransport(options.transport ?? {});
  }

  /** What is scanned: the reference, the digest it resolved to, transfer counters. */
  get target(): Target {
    const oci = this.record(
      {
        registry: this.ref.registry,
        repository: this.ref.repository,
        reference: this.ref.digest ?? this.ref.tag ?? "latest",
      },
      this.stats,
    );
    return { kind: "oci", name: formatOciUri(this.ref), ...(oci === undefined ? {} : { oci }) };
  }

  protected async resolve(): Promise<Resolved> {
    const credentials =
      this.options.credentials !== undefined
        ? { ...this.options.credentials, from: "options" }
        : await resolveCredentials(this.ref.registry, this.options.env, this.options.dockerConfig);
    const client = new RegistryClient({
      registry: this.ref.registry,
      repository: this.ref.repository,
      transport: this.#transport,
      credentials,
      allowHttp: this.options.allowHttp === true && !isLoopback(this.ref.registry),
      signal: this.signal,
      stats: this.stats,
    });
    this.#client = client;
    await client.ping();
    const reference = this.ref.digest ?? this.ref.tag ?? "latest";
    return resolveReference(
      async (r, maxBytes) => client.manifest(r, maxBytes ?? this.limits.maxManifestBytes),
      { reference, digest: this.ref.digest, where: `${this.ref.repository}:${reference}` },
      { limits: this.limits, platform: this.options.platform, signal: this.signal },
    );
  }

  protected listed(entry: BlobEntry): Promise<RootEntry> {
    const d = entry.descriptor;
    return Promise.resolve({ path: entry.path, size: d.size, kind: "file", sha256: d.digest.slice(7) });
  }

  /** @inheritdoc */
  open(path: string, options: OpenOptions = {}): Promise<ByteSource> {
    const entry = this.blobs.get(path);
    const client = this.#client;
    if (entry === undefined || client === undefined)
      return Promise.reject(new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`));
    const { digest, size } = entry.descriptor;
    const signal = options.signal === undefined ? this.signal : AbortSignal.any([this.signal, options.signal]);
    const counter = { n: 0 };
    this.#fetched.set(path, counter);
    const root = this.stats;
    // Count into the root's totals and this blob's.
    const stats: TransferStats = {
      get requests() {
        return root.requests;
      },
      set requests(v: number) {
        root.requests = v;
      },
      get bytes() {
        return counter.n;
      },
      set bytes(v: number) {
        root.bytes += v - counter.n;
        counter.n = v;
      },
    };
    let whole: Uint8Array | undefined;
    const maxWhole = this.options.maxWholeBlobBytes ?? 32 << 20;
    const read: RangeReaderOptions = { ...this.options.read };
    if (this.options.verify === "full") read.minFetch ??= read.maxWindow ?? 8 << 20;
    /** The range's chunks (none when `begin` streamed them), or the whole blob when the registry sent it. */
    const get = async (
      start: number,
      end: number,
      s: AbortSignal,
      begin?: (attempt: AbortSignal) => Promise<(chunk: Uint8Array) => void>,
    ): Promise<Uint8Array[]> => {
      if (whole === undefined) {
        const got = await client
          .blobRange(digest, size, start, end, {
            signal: s,
            stats,
            maxWhole,
            ...(begin === undefined ? {} : { begin }),
          })
          .catch((error: unknown) => {
            const served = (error as { servedSize?: unknown }).servedSize;
            if (typeof served === "string") this.sizeProblems.set(path, served);
            throw error;
          });
        if (!got.whole) return got.chunks;
        whole = got.chunks[0]!;
      }
      return [whole.subarray(start, end)];
    };
    return Promise.resolve(
      new RangeReader({
        size,
        fetch: (start, end, s) => get(start, end, s),
        stream: async (start, end, s, begin) => {
          // Streamed ranges come back empty; a range cut from the whole blob is fed here.
          const rest = await get(start, end, s, begin);
          if (rest.length > 0) {
            const sink = await begin(s);
            for (const c of rest) sink(c);
          }
        },
        signal,
        bytesFetched: () => counter.n,
        options: read,
      }),
    );
  }

  protected async digestOf(
    source: ByteSource,
    full: boolean,
    signal: AbortSignal,
  ): Promise<{ sha256?: string; bytesFetched: number }> {
    if (!(source instanceof RangeReader)) return { bytesFetched: 0 };
    const state = await source.digest(full, signal);
    return { ...(state.sha256 === undefined ? {} : { sha256: state.sha256 }), bytesFetched: state.bytesFetched };
  }
}

/** The index of an image layout. */
const INDEX_JSON = "index.json";

/** An OCI image-layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`). */
export class OciLayoutRoot extends OciRootBase {
  readonly layout: OciLayoutReference;
  readonly dir: string;
  readonly #ids = new Map<string, { dev: bigint; ino: bigint }>();

  /**
   * @param options - `reference` is `oci-layout:DIR[:ref]`
   * @param signal - aborts reads
   */
  constructor(options: OciTarget, signal?: AbortSignal) {
    super(options, signal);
    this.layout = parseOciLayoutUri(options.reference);
    this.dir = resolve(this.layout.path);
  }

  /** The local directory. */
  get localDir(): string {
    return this.dir;
  }

  /** What is scanned: the layout, the reference and the digest it resolved to. */
  get target(): Target {
    const oci = this.record({
      registry: "",
      repository: "",
      reference: this.layout.reference ?? "",
      layout: this.layout.path,
    });
    const ref = this.layout.reference === undefined ? "" : `:${this.layout.reference}`;
    return { kind: "oci", name: `oci-layout:${this.layout.path}${ref}`, ...(oci === undefined ? {} : { oci }) };
  }

  /** Reads a small file of the layout whole, through the guarded open. */
  async #readSmall(rel: string, max: number, budget: string): Promise<Uint8Array> {
    const source = await FileSource.open(join(this.dir, rel), { signal: this.signal });
    try {
      if (source.size > max) {
        throw new ModelgateError("BUDGET_EXCEEDED", `${rel} is larger than ${max} bytes`, { budget });
      }
      return await source.read(0, source.size);
    } finally {
      await source.close();
    }
  }

  protected async resolve(): Promise<Resolved> {
    const max = this.limits.maxManifestBytes;
    const layoutFile = await this.#readSmall("oci-layout", 4096, "oci.maxManifestBytes");
    let version: unknown;
    try {
      version = (JSON.parse(new TextDecoder().decode(layoutFile)) as { imageLayoutVersion?: unknown })
        .imageLayoutVersion;
    } catch {
      version = undefined;
    }
    if (typeof version !== "string" || !version.startsWith("1.")) {
      throw new ModelgateError("MALFORMED", `${this.layout.path}/oci-layout does not declare imageLayoutVersion 1.x`);
    }
    const indexBytes = await this.#readSmall("index.json", max, "oci.maxManifestBytes");
    const index = parseManifest(indexBytes, "", "index.json");
    if (index.kind !== "index") throw new ModelgateError("MALFORMED", "index.json is not an image index");
    const wanted = this.layout.reference;
    // No ref and several entries: index.json itself is the index, and every entry is scanned.
    let top: Descriptor | undefined;
    if (wanted?.startsWith("sha256:")) {
      const found = index.manifests.find((d) => d.digest === wanted);
      if (found === undefined) throw new ModelgateError("INVALID_ARGUMENT", `index.json lists no manifest ${wanted}`);
      top = found;
    } else if (wanted !== undefined) {
      const named = index.manifests.filter((d) => d.annotations?.["org.opencontainers.image.ref.name"] === wanted);
      const found = named[0];
      if (found === undefined)
        throw new ModelgateError("INVALID_ARGUMENT", `index.json has no manifest named "${wanted}"`);
      // Clients disagree on which of several entries of one name they pull (the last one, the first
      // of a supported media type ...): a name that is not one manifest is not scanned as one.
      if (named.length > 1) {
        throw new ModelgateError(
          "MALFORMED",
          `index.json names ${named.length} entries "${wanted}": clients pick different ones, so no single one is what a pull gets`,
        );
      }
      top = found;
    } else if (index.manifests.length === 1) {
      top = index.manifests[0]!;
    }
    if (top !== undefined) checkDigest(top.digest, "index.json entry");
    const fetch: FetchDocument = async (reference, maxBytes) => {
      if (top === undefined && reference === INDEX_JSON) return { bytes: indexBytes, contentType: "" };
      return {
        bytes: await this.#readSmall(
          `blobs/sha256/${checkDigest(reference, "manifest").slice(7)}`,
          maxBytes ?? max,
          "oci.maxManifestBytes",
        ),
        contentType: top?.digest === reference ? top.mediaType : "",
      };
    };
    const resolved = await resolveReference(
      fetch,
      top === undefined
        ? { reference: INDEX_JSON, where: INDEX_JSON }
        : { reference: top.digest, digest: top.digest, where: `manifest ${top.digest}` },
      { limits: this.limits, platform: this.options.platform, signal: this.signal },
    );
    return resolved;
  }

  protected async listed(entry: BlobEntry): Promise<RootEntry> {
    const d = entry.descriptor;
    const file = join(this.dir, "blobs", "sha256", d.digest.slice(7));
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(file, { bigint: true });
    } catch (error) {
      return {
        path: entry.path,
        size: 0,
        kind: "unreadable",
        error: `blob ${d.digest} is missing from the layout (${toModelgateError(error).message})`,
      };
    }
    if (!info.isFile()) {
      return {
        path: entry.path,
        size: 0,
        kind: "unreadable",
        error: `blob ${d.digest} is not a regular file in the layout; not read`,
      };
    }
    if (info.size !== BigInt(d.size)) {
      return {
        path: entry.path,
        size: 0,
        kind: "unreadable",
        errorCode: "MALFORMED",
        error: `blob ${d.digest} is ${info.size} bytes on disk; its descriptor says ${d.size}`,
      };
    }
    this.#ids.set(entry.path, { dev: info.dev, ino: info.ino });
    return { path: entry.path, size: d.size, kind: "file", sha256: d.digest.slice(7), dev: info.dev, ino: info.ino };
  }

  /** @inheritdoc */
  open(path: string, options: OpenOptions = {}): Promise<ByteSource> {
    const entry = this.blobs.get(path);
    const id = this.#ids.get(path);
    if (entry === undefined || id === undefined)
      return Promise.reject(new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`));
    const file = join(this.dir, "blobs", "sha256", entry.descriptor.digest.slice(7));
    return FileSource.open(file, {
      expect: { dev: id.dev, ino: id.ino, size: entry.descriptor.size },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  protected async digestOf(
    source: ByteSource,
    _full: boolean,
    signal: AbortSignal,
  ): Promise<{ sha256?: string; bytesFetched: number }> {
    // Local blobs are always hashed whole: reading them costs no transfer.
    const hash = createHash("sha256");
    for await (const chunk of readChunks(source, { chunkSize: 4 << 20 })) {
      signal.throwIfAborted();
      hash.update(chunk);
    }
    return { sha256: hash.digest("hex"), bytesFetched: 0 };
  }
}

/**
 * The root of an OCI target: a registry reference or an image layout.
 * @param options - the target
 * @param signal - aborts every request and read
 */
export function ociRoot(options: OciTarget, signal?: AbortSignal): OciRegistryRoot | OciLayoutRoot {
  if (typeof options?.reference !== "string")
    throw new ModelgateError("INVALID_ARGUMENT", "oci target needs a reference");
  if (options.reference.startsWith("oci-layout:")) return new OciLayoutRoot(options, signal);
  return new OciRegistryRoot(options, signal);
}
