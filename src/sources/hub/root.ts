/**
 * A Hugging Face Hub model repository as a scan root: the revision is resolved to its commit once,
 * and every listing and read names that commit.
 * @module
 */
import { listFiles, modelInfo, pathsInfo } from "@huggingface/hub";
import { z } from "zod";
import { ModelgateError, toModelgateError } from "../../errors.js";
import type { Evidence, Target } from "../../report/schema.js";
import type { FileVerification, FindingInput, RootEntry, ScanRoot } from "../../scan/types.js";
import type { ByteSource } from "../byte-source.js";
import { badRepoPath, checkRepoId, checkRevision, type Env, formatHubUri, resolveHubSettings } from "./config.js";
import { HubFileSource, type PinnedDigest, type RangeReadOptions } from "./range-source.js";
import {
  HubTransport,
  type HubTransportOptions,
  type RequestContext,
  readBody,
  type TransferStats,
} from "./transport.js";

/** A Hub repository to scan, as `scan({ hub })` takes it. */
export interface HubTarget {
  /** `owner/name`. */
  repo: string;
  /** Branch, tag or commit (default `main`); resolved to a commit once. */
  revision?: string;
  /** Files or folders to scan instead of the whole repository. */
  paths?: string[];
  /** Access token (default: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the token file). */
  token?: string;
  /** Hub endpoint (default `HF_ENDPOINT`, else https://huggingface.co). */
  hubUrl?: string;
  /**
   * `read` (default): verify the files the analyzers happened to read whole; others are reported
   * `partial`. `full`: read every file whole and verify it (transfers the whole repository).
   */
  verify?: "read" | "full";
  /** Also fetch the Hub's own scan status (repository and files), for information only. */
  securityStatus?: boolean;
  /** A shared transport (a mirror's pool), or options for a private one. */
  transport?: HubTransport | HubTransportOptions;
  /** Range-read tuning. */
  read?: RangeReadOptions;
  /** Most files listed before the listing is declared incomplete (default 100 000). */
  maxFiles?: number;
  /** Environment to read `HF_*` variables from (default `process.env`). */
  env?: Env;
}

type MutableContext = { -readonly [K in keyof RequestContext]: RequestContext[K] };

interface FileMeta {
  size: number;
  pinned: PinnedDigest;
  security?: unknown;
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const PATHS_INFO_BATCH = 50;

const TreeItemSchema = z
  .object({
    type: z.string(),
    path: z.string(),
    size: z.number().int().nonnegative().optional(),
    oid: z.string().optional(),
    lfs: z.object({ oid: z.string(), size: z.number().int().nonnegative() }).loose().optional(),
    securityFileStatus: z.unknown().optional(),
  })
  .loose();

const encodePath = (path: string): string => path.split("/").map(encodeURIComponent).join("/");

/** Maps a failed metadata call to a typed error with an actionable message. */
function hubError(error: unknown, what: string): ModelgateError {
  if (error instanceof ModelgateError) return error;
  const status = (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === "number") {
    if (status === 401 || status === 403) {
      return new ModelgateError(
        "NETWORK",
        `${what}: HTTP ${status}, the repository is private, gated or missing (set HF_TOKEN or pass a token)`,
        { cause: error },
      );
    }
    if (status === 404)
      return new ModelgateError("INVALID_ARGUMENT", `${what}: not found (HTTP 404)`, { cause: error });
    return new ModelgateError("NETWORK", `${what}: HTTP ${status}`, { cause: error });
  }
  const e = toModelgateError(error);
  if (e.code === "INTERNAL") {
    // The library threw on a response it could not use (not JSON, not the expected shape).
    return new ModelgateError("NETWORK", `${what}: unusable response (${e.message})`, { cause: error });
  }
  return e;
}

/** A Hub model repository at a pinned commit. */
export class HubRoot implements ScanRoot {
  readonly repo: string;
  readonly revision: string;
  readonly commit: string;
  readonly hubUrl: string;
  readonly stats: TransferStats;
  readonly #options: HubTarget;
  readonly #transport: HubTransport;
  readonly #ctx: MutableContext;
  readonly #files = new Map<string, FileMeta>();
  readonly #securityStatus: Record<string, unknown> | undefined;

  private constructor(
    options: HubTarget,
    transport: HubTransport,
    ctx: MutableContext,
    hubUrl: string,
    resolved: { revision: string; commit: string; security: Record<string, unknown> | undefined },
  ) {
    this.#options = options;
    this.#transport = transport;
    this.#ctx = ctx;
    this.stats = ctx.stats;
    this.hubUrl = hubUrl;
    this.repo = options.repo;
    this.revision = resolved.revision;
    this.commit = resolved.commit;
    this.#securityStatus = resolved.security;
  }

  /**
   * Resolves the revision to its commit (and, when asked, fetches the Hub's scan status).
   * @param options - the repository and how to read it
   * @param signal - aborts the requests
   * @throws ModelgateError `INVALID_ARGUMENT` for a bad id or a missing repository/revision,
   *   `NETWORK` when the Hub refuses or fails
   */
  static async open(options: HubTarget, signal?: AbortSignal): Promise<HubRoot> {
    checkRepoId(options.repo);
    const revision = options.revision ?? "main";
    checkRevision(revision);
    for (const p of options.paths ?? []) {
      const bad = badRepoPath(p.replace(/\/+$/, ""));
      if (bad !== undefined) throw new ModelgateError("INVALID_ARGUMENT", `bad path "${p}": ${bad}`);
    }
    const settings = await resolveHubSettings({ hubUrl: options.hubUrl, token: options.token }, options.env);
    const transport =
      options.transport instanceof HubTransport ? options.transport : new HubTransport(options.transport ?? {});
    const ctx: MutableContext = {
      origin: new URL(settings.hubUrl).origin,
      token: settings.token,
      signal: signal ?? new AbortController().signal,
      stats: { requests: 0, bytes: 0 },
    };
    let sha: unknown;
    try {
      const info = await modelInfo({
        name: options.repo,
        revision,
        additionalFields: ["sha"],
        hubUrl: settings.hubUrl,
        fetch: transport.apiFetch(ctx),
      });
      sha = (info as { sha?: unknown }).sha;
    } catch (error) {
      throw hubError(error, `resolving ${options.repo}@${revision}`);
    }
    if (typeof sha !== "string" || !HEX40.test(sha)) {
      throw new ModelgateError("NETWORK", `the Hub returned no commit id for ${options.repo}@${revision}`);
    }
    if (HEX40.test(revision) && revision !== sha) {
      throw new ModelgateError("NETWORK", `asked for commit ${revision}, the Hub answered with ${sha}`);
    }
    let security: Record<string, unknown> | undefined;
    if (options.securityStatus === true) {
      security = await fetchSecurityStatus(transport, ctx, settings.hubUrl, options.repo, sha);
    }
    return new HubRoot(options, transport, ctx, settings.hubUrl, { revision, commit: sha, security });
  }

  /** What is scanned, with the transfer counters as they stand. */
  get target(): Target {
    const paths = this.#options.paths;
    const name = formatHubUri({
      repo: this.repo,
      revision: this.revision,
      ...(paths?.length === 1 ? { path: paths[0]!.replace(/\/+$/, "") } : {}),
    });
    return {
      kind: "hub",
      name,
      hub: {
        repo: this.repo,
        revision: this.revision,
        commit: this.commit,
        ...(paths === undefined ? {} : { paths: [...paths] }),
        requests: this.stats.requests,
        bytesTransferred: this.stats.bytes,
        ...(this.#securityStatus === undefined ? {} : { securityStatus: this.#securityStatus }),
      },
    };
  }

  /** @inheritdoc */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    this.#ctx.signal = AbortSignal.any([this.#ctx.signal, signal]);
    const entries: RootEntry[] = [];
    const seen = new Set<string>();
    const maxFiles = this.#options.maxFiles ?? 100_000;
    const fail = (path: string, error: string) => entries.push({ path, size: 0, kind: "unreadable", error });
    const common = {
      repo: { type: "model" as const, name: this.repo },
      revision: this.commit,
      hubUrl: this.hubUrl,
      fetch: this.#transport.apiFetch(this.#ctx),
      expand: this.#options.securityStatus === true,
    };
    const add = (raw: unknown): void => {
      const parsed = TreeItemSchema.safeParse(raw);
      if (!parsed.success) {
        fail(".", "the Hub listed an entry of unexpected shape");
        return;
      }
      const item = parsed.data;
      if (item.type === "directory") return;
      const bad = badRepoPath(item.path);
      if (bad !== undefined) {
        fail(item.path, `invalid path in the listing (${bad}); not read`);
        return;
      }
      if (seen.has(item.path)) return;
      seen.add(item.path);
      if (item.type !== "file") {
        fail(item.path, `listed as "${item.type}", not a file; not read`);
        return;
      }
      const pinned: PinnedDigest = {};
      const lfsOid = item.lfs?.oid.toLowerCase();
      if (lfsOid !== undefined && HEX64.test(lfsOid)) pinned.sha256 = lfsOid;
      else if (item.lfs === undefined && item.oid !== undefined && HEX40.test(item.oid)) pinned.gitSha1 = item.oid;
      const size = item.lfs?.size ?? item.size;
      if (size === undefined || (item.lfs !== undefined && pinned.sha256 === undefined)) {
        fail(item.path, "listing entry without size or usable LFS oid; not read");
        return;
      }
      const meta: FileMeta = { size, pinned };
      if (item.securityFileStatus !== undefined) meta.security = item.securityFileStatus;
      this.#files.set(item.path, meta);
      entries.push({
        path: item.path,
        size,
        kind: "file",
        ...(pinned.sha256 === undefined ? {} : { sha256: pinned.sha256 }),
      });
    };
    const full = () => entries.length >= maxFiles;
    try {
      if (this.#options.paths === undefined) {
        for await (const item of listFiles({ ...common, recursive: true })) {
          add(item);
          if (full()) break;
        }
      } else {
        const wanted = [...new Set(this.#options.paths.map((p) => p.replace(/\/+$/, "")))];
        for (let i = 0; i < wanted.length && !full(); i += PATHS_INFO_BATCH) {
          const batch = wanted.slice(i, i + PATHS_INFO_BATCH);
          const infos: unknown = await pathsInfo({ ...common, paths: batch });
          if (!Array.isArray(infos))
            throw new ModelgateError("NETWORK", "paths-info answered with something else than a list");
          const found = new Set<string>();
          for (const info of infos) {
            const parsed = TreeItemSchema.safeParse(info);
            if (parsed.success) found.add(parsed.data.path);
            if (parsed.success && parsed.data.type === "directory") {
              for await (const item of listFiles({ ...common, recursive: true, path: parsed.data.path })) {
                add(item);
                if (full()) break;
              }
            } else {
              add(info);
            }
          }
          for (const p of batch) if (!found.has(p)) fail(p, `not found at commit ${this.commit}`);
        }
      }
      if (full()) fail(".", `the listing has more than ${maxFiles} files; the rest was not scanned`);
    } catch (error) {
      const e = hubError(error, `listing ${this.repo}@${this.commit}`);
      if (e.code === "ABORTED" || e.code === "TIMEOUT") throw e;
      fail(".", e.message);
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    yield* entries;
  }

  /** @inheritdoc */
  open(path: string): Promise<ByteSource> {
    const meta = this.#files.get(path);
    if (meta === undefined) return Promise.reject(new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`));
    const params: ConstructorParameters<typeof HubFileSource>[0] = {
      transport: this.#transport,
      url: `${this.hubUrl}/${this.repo}/resolve/${this.commit}/${encodePath(path)}`,
      size: meta.size,
      commit: this.commit,
      pinned: meta.pinned,
      ctx: this.#ctx,
    };
    const read: RangeReadOptions = { ...this.#options.read };
    // Every byte will be fetched anyway: start with a large window so that a small file costs one
    // request and the sniffer's head read already feeds the digest.
    if (this.#options.verify === "full") read.minFetch ??= read.maxWindow ?? 8 << 20;
    params.options = read;
    return Promise.resolve(new HubFileSource(params));
  }

  /** @inheritdoc */
  async verifyFile(path: string, source: ByteSource, signal: AbortSignal): Promise<FileVerification> {
    const meta = this.#files.get(path);
    if (meta === undefined || !(source instanceof HubFileSource)) return {};
    const state = await source.integrity(this.#options.verify === "full", signal);
    const findings: FindingInput[] = state.problems.map((p) => ({
      ruleId: "hub/integrity-mismatch",
      message: `served bytes disagree with commit ${this.commit.slice(0, 12)} (${p.check}: expected ${p.expected}, got ${p.actual})`,
      evidence: { check: p.check, expected: p.expected, actual: p.actual, commit: this.commit },
    }));
    const upstream = upstreamFinding(meta.security);
    if (upstream !== undefined) findings.push(upstream);
    const verification: FileVerification = { findings, cacheable: state.problems.length === 0 };
    if (state.complete && state.sha256 !== undefined) verification.sha256 = state.sha256;
    const algorithm = meta.pinned.sha256 !== undefined ? "sha256" : "git-blob-sha1";
    const expected = meta.pinned.sha256 ?? meta.pinned.gitSha1;
    if (expected !== undefined) {
      const actual = algorithm === "sha256" ? state.sha256 : state.gitSha1;
      verification.integrity = {
        status: state.problems.length > 0 ? "mismatch" : state.complete ? "verified" : "partial",
        algorithm,
        expected,
        ...(actual === undefined ? {} : { actual }),
        bytesFetched: state.bytesFetched,
      };
    }
    return verification;
  }
}

/** Fetches the Hub's repository-level scan status (`?securityStatus=true`); undefined when unavailable. */
async function fetchSecurityStatus(
  transport: HubTransport,
  ctx: RequestContext,
  hubUrl: string,
  repo: string,
  commit: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const json = await transport.send(
      {
        url: `${hubUrl}/api/models/${repo}/revision/${commit}?securityStatus=true`,
        headers: { accept: "application/json" },
      },
      ctx,
      async ({ response }) => {
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined);
          return undefined;
        }
        return JSON.parse(new TextDecoder().decode(await readBody(response, 8 << 20, ctx.stats))) as unknown;
      },
    );
    const status = (json as { securityRepoStatus?: unknown } | undefined)?.securityRepoStatus;
    return status !== null && typeof status === "object" && !Array.isArray(status)
      ? (status as Record<string, unknown>)
      : undefined;
  } catch (error) {
    const e = toModelgateError(error);
    if (e.code === "ABORTED" || e.code === "TIMEOUT") throw e;
    return undefined;
  }
}

/** An info finding when the Hub's own scanners flag a file (corroboration only). */
function upstreamFinding(status: unknown): FindingInput | undefined {
  if (status === null || typeof status !== "object") return undefined;
  const s = status as Record<string, unknown>;
  const verdict = typeof s.status === "string" ? s.status : undefined;
  if (verdict !== "unsafe" && verdict !== "caution") return undefined;
  const evidence: Evidence = { status: verdict };
  const pickle = s.pickleImportScan as { highestSafetyLevel?: unknown; imports?: unknown } | undefined;
  if (typeof pickle?.highestSafetyLevel === "string") evidence.pickleSafety = pickle.highestSafetyLevel;
  if (Array.isArray(pickle?.imports)) {
    const flagged = pickle.imports
      .filter((i: { safety?: unknown }) => i?.safety !== "innocuous")
      .slice(0, 10)
      .map((i: { module?: unknown; name?: unknown }) => `${String(i?.module)}.${String(i?.name)}`);
    if (flagged.length > 0) evidence.imports = flagged.join(", ").slice(0, 300);
  }
  const av = s.avScan as { virusFound?: unknown; virusNames?: unknown } | undefined;
  if (av?.virusFound === true)
    evidence.virus = Array.isArray(av.virusNames) ? av.virusNames.join(", ").slice(0, 200) : true;
  return {
    ruleId: "hub/upstream-flagged",
    message: `the Hub's own scanners mark this file "${verdict}" (information only; modelgate's verdict is its own)`,
    evidence,
  };
}
