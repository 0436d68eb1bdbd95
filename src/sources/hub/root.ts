/**
 * A Hugging Face Hub repository (model, dataset or Space) as a scan root: the revision is resolved
 * to its commit once, and every listing and read names that commit.
 * @module
 */
import { createHash } from "node:crypto";
import { datasetInfo, modelInfo, pathsInfo, spaceInfo } from "@huggingface/hub";
import { z } from "zod";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import type { Evidence, FindingInput } from "../../core/findings.js";
import type { FileVerification, OpenOptions, RootEntry, ScanRoot, Target } from "../../core/root.js";
import {
  badRepoPath,
  checkRevision,
  type Env,
  formatHubUri,
  type HubRepoType,
  repoDesignation,
  repoTypeSegment,
  resolveHubSettings,
  splitRepo,
} from "./config.js";
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
  /**
   * `owner/name` (a model, unless `repoType` says otherwise), or `datasets/owner/name`,
   * `spaces/owner/name` (`models/owner/name` too), as `parseHubUri` returns it.
   */
  repo: string;
  /** `model` (default), `dataset` or `space`; must agree with a prefix of `repo`. */
  repoType?: HubRepoType;
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
  /** Budgets of the tree listing (a hostile Hub can paginate forever). */
  listing?: HubListingLimits;
  /**
   * Trust the Hub's content addressing: an LFS oid in the listing names the bytes the Hub serves
   * for that file. Verdict cache hits under listed oids then answer without reading the file, and
   * results of partial reads are cached (under a key only such scans look up). Default false: a
   * hit under a listed oid is used only once the file's bytes are read whole and match it, and
   * only results whose SHA-256 was computed over every byte are cached. Set it only for an
   * endpoint that verifies LFS uploads against their oid and that you trust to serve them.
   */
  trustListedDigests?: boolean;
  /** Environment to read `HF_*` variables from (default `process.env`). */
  env?: Env;
}

/** Budgets of a Hub tree listing; past any of them the listing stops and the scan is incomplete. */
export interface HubListingLimits {
  /** Pages fetched, across every folder listed (default 10 000). */
  maxPages?: number;
  /** Items received, directories and rejected entries included (default 1 000 000). */
  maxItems?: number;
  /** Wall-clock budget of the whole listing, in milliseconds (default 600 000). */
  timeoutMs?: number;
  /** Largest page body accepted, in bytes (default 16 MiB). */
  maxPageBytes?: number;
}

const DEFAULT_LISTING: Required<HubListingLimits> = {
  maxPages: 10_000,
  maxItems: 1_000_000,
  timeoutMs: 600_000,
  maxPageBytes: 16 << 20,
};

/** Listing problems kept as entries of their own; more are counted in one. */
const MAX_LISTING_PROBLEMS = 100;
/** Longest path kept for a rejected listing entry. */
const MAX_PROBLEM_PATH = 300;

type MutableContext = { -readonly [K in keyof RequestContext]: RequestContext[K] };

/** What is kept per listed file: small, whatever the listing carried. */
interface FileMeta {
  readonly size: number;
  readonly sha256?: string;
  readonly gitSha1?: string;
  /** The Hub's own flag on the file (an info finding), computed from the listing. */
  readonly upstream?: FindingInput;
}

interface ListingProblem {
  error: string;
  code: "IO" | "NETWORK" | "BUDGET_EXCEEDED" | "TIMEOUT" | "INVALID_ARGUMENT" | "MALFORMED";
  count: number;
}

/** Counts pages and items of a listing against its budgets. */
class ListingBudget {
  readonly limits: Required<HubListingLimits>;
  readonly ctx: RequestContext;
  readonly #visited = new Set<string>();
  readonly #started = Date.now();
  pages = 0;
  items = 0;

  constructor(limits: Required<HubListingLimits>, ctx: RequestContext) {
    this.limits = limits;
    this.ctx = ctx;
  }

  /** Admits one more page request (or throws why not). */
  page(url: string): void {
    const key = createHash("sha256").update(url).digest("base64");
    if (this.#visited.has(key)) {
      throw new ModelgateError("MALFORMED", `the tree listing's next page repeats an earlier page (${preview(url)})`);
    }
    this.#visited.add(key);
    if (++this.pages > this.limits.maxPages) {
      throw new ModelgateError("BUDGET_EXCEEDED", `the tree listing has more than ${this.limits.maxPages} pages`, {
        budget: "listing.maxPages",
      });
    }
    if (Date.now() - this.#started > this.limits.timeoutMs) throw this.timeout();
  }

  /** Counts items received. */
  received(n: number): void {
    this.items += n;
    if (this.items > this.limits.maxItems) {
      throw new ModelgateError("BUDGET_EXCEEDED", `the tree listing has more than ${this.limits.maxItems} items`, {
        budget: "listing.maxItems",
      });
    }
  }

  timeout(): ModelgateError {
    return new ModelgateError(
      "BUDGET_EXCEEDED",
      `the tree listing did not finish within ${this.limits.timeoutMs} ms (${this.pages} pages, ${this.items} items)`,
      { budget: "listing.timeoutMs" },
    );
  }
}

const preview = (s: string, max = MAX_PROBLEM_PATH): string => (s.length > max ? `${s.slice(0, max)}…` : s);

/** The `rel="next"` target of a `Link` header, resolved against the page's URL. */
function nextLink(header: string | null, base: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m === null || !/;\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?/i.test(m[2] ?? "")) continue;
    let url: URL;
    try {
      url = new URL(m[1] ?? "", base);
    } catch {
      throw new ModelgateError("NETWORK", `the tree listing's next page is not a URL (${preview(m[1] ?? "")})`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ModelgateError("NETWORK", "the tree listing's next page is not an HTTP URL");
    }
    return url.href;
  }
  return undefined;
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

/** A typed error for an HTTP error status of a metadata call. */
function statusError(status: number, what: string, cause?: unknown): ModelgateError {
  const options = cause === undefined ? {} : { cause };
  if (status === 401 || status === 403) {
    return new ModelgateError(
      "NETWORK",
      `${what}: HTTP ${status}, the repository is private, gated or missing (set HF_TOKEN or pass a token)`,
      options,
    );
  }
  if (status === 404) return new ModelgateError("INVALID_ARGUMENT", `${what}: not found (HTTP 404)`, options);
  return new ModelgateError("NETWORK", `${what}: HTTP ${status}`, options);
}

/** Maps a failed metadata call to a typed error with an actionable message. */
function hubError(error: unknown, what: string): ModelgateError {
  if (error instanceof ModelgateError) return error;
  const status = (error as { statusCode?: unknown })?.statusCode;
  if (typeof status === "number") return statusError(status, what, error);
  const e = toModelgateError(error);
  if (e.code === "INTERNAL") {
    // The library threw on a response it could not use (not JSON, not the expected shape).
    return new ModelgateError("NETWORK", `${what}: unusable response (${e.message})`, { cause: error });
  }
  return e;
}

/** A Hub repository (model, dataset or Space) at a pinned commit. */
export class HubRoot implements ScanRoot {
  /** The repository's designation: `owner/name`, `datasets/owner/name` or `spaces/owner/name`. */
  readonly repo: string;
  /** `owner/name`. */
  readonly repoId: string;
  /** The repository's type. */
  readonly repoType: HubRepoType;
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
    resolved: {
      type: HubRepoType;
      id: string;
      revision: string;
      commit: string;
      security: Record<string, unknown> | undefined;
    },
  ) {
    this.#options = options;
    this.#transport = transport;
    this.#ctx = ctx;
    this.stats = ctx.stats;
    this.hubUrl = hubUrl;
    this.repoType = resolved.type;
    this.repoId = resolved.id;
    this.repo = repoDesignation(resolved.type, resolved.id);
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
    const { type, id } = splitRepo(options.repo, options.repoType);
    const repo = repoDesignation(type, id);
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
      const params = {
        name: id,
        revision,
        additionalFields: ["sha" as const],
        hubUrl: settings.hubUrl,
        fetch: transport.apiFetch(ctx),
      };
      const info =
        type === "dataset"
          ? await datasetInfo(params)
          : type === "space"
            ? await spaceInfo(params)
            : await modelInfo(params);
      sha = (info as { sha?: unknown }).sha;
    } catch (error) {
      throw hubError(error, `resolving ${repo}@${revision}`);
    }
    if (typeof sha !== "string" || !HEX40.test(sha)) {
      throw new ModelgateError("NETWORK", `the Hub returned no commit id for ${repo}@${revision}`);
    }
    if (HEX40.test(revision) && revision !== sha) {
      throw new ModelgateError("NETWORK", `asked for commit ${revision}, the Hub answered with ${sha}`);
    }
    let security: Record<string, unknown> | undefined;
    if (options.securityStatus === true) {
      security = await fetchSecurityStatus(transport, ctx, settings.hubUrl, `${repoTypeSegment(type)}/${id}`, sha);
    }
    return new HubRoot(options, transport, ctx, settings.hubUrl, { type, id, revision, commit: sha, security });
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
        repoType: this.repoType,
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
    const limits = { ...DEFAULT_LISTING, ...definedOnly(this.#options.listing ?? {}) };
    for (const [name, value] of Object.entries(limits)) {
      if (!(typeof value === "number" && value > 0)) {
        throw new ModelgateError("INVALID_ARGUMENT", `listing.${name} must be a positive number`);
      }
    }
    // The wall-clock budget bounds every listing request too (a page that never ends).
    const clock = new AbortController();
    const budget = new ListingBudget(limits, {
      ...this.#ctx,
      signal: AbortSignal.any([this.#ctx.signal, clock.signal]),
    });
    const timer = setTimeout(() => clock.abort(budget.timeout()), Math.min(limits.timeoutMs, 2 ** 31 - 1));
    const problems = new Map<string, ListingProblem>();
    let dropped = 0;
    const maxFiles = this.#options.maxFiles ?? 100_000;
    // Problems of the listing as a whole ("." entries) are always kept; those of single entries up
    // to a number, the rest counted.
    const fail = (path: string, error: string, code: ListingProblem["code"] = "IO") => {
      const key = preview(path);
      const known = problems.get(key);
      if (known !== undefined && key === "." && !known.error.includes(error) && known.error.length < 2_000) {
        known.error = `${known.error}; ${preview(error)}`;
        if (code !== "IO") known.code = code;
      }
      if (known !== undefined) known.count++;
      else if (key === "." || problems.size < MAX_LISTING_PROBLEMS) problems.set(key, { error, code, count: 1 });
      else dropped++;
    };
    const trusted = this.#options.trustListedDigests === true;
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
      if (this.#files.has(item.path) || problems.has(item.path)) return;
      if (item.type !== "file") {
        fail(item.path, `listed as "${preview(item.type, 40)}", not a file; not read`);
        return;
      }
      const lfsOid = item.lfs?.oid.toLowerCase();
      const sha256 = lfsOid !== undefined && HEX64.test(lfsOid) ? lfsOid : undefined;
      const gitSha1 = item.lfs === undefined && item.oid !== undefined && HEX40.test(item.oid) ? item.oid : undefined;
      const size = item.lfs?.size ?? item.size;
      if (size === undefined || (item.lfs !== undefined && sha256 === undefined)) {
        fail(item.path, "listing entry without size or usable LFS oid; not read");
        return;
      }
      const upstream = upstreamFinding(item.securityFileStatus);
      this.#files.set(item.path, {
        size,
        ...(sha256 === undefined ? {} : { sha256 }),
        ...(gitSha1 === undefined ? {} : { gitSha1 }),
        ...(upstream === undefined ? {} : { upstream }),
      });
    };
    const full = () => this.#files.size >= maxFiles;
    try {
      if (this.#options.paths === undefined) {
        for await (const item of this.#tree(undefined, budget)) {
          add(item);
          if (full()) break;
        }
      } else {
        const common = {
          repo: { type: this.repoType, name: this.repoId },
          revision: this.commit,
          hubUrl: this.hubUrl,
          fetch: this.#transport.apiFetch(budget.ctx, limits.maxPageBytes),
          expand: this.#options.securityStatus === true,
        };
        const wanted = [...new Set(this.#options.paths.map((p) => p.replace(/\/+$/, "")))];
        for (let i = 0; i < wanted.length && !full(); i += PATHS_INFO_BATCH) {
          const batch = wanted.slice(i, i + PATHS_INFO_BATCH);
          budget.page(`paths-info ${i}`);
          const infos: unknown = await pathsInfo({ ...common, paths: batch });
          if (!Array.isArray(infos))
            throw new ModelgateError("NETWORK", "paths-info answered with something else than a list");
          budget.received(infos.length);
          const found = new Set<string>();
          for (const info of infos) {
            const parsed = TreeItemSchema.safeParse(info);
            if (parsed.success) found.add(parsed.data.path);
            if (parsed.success && parsed.data.type === "directory" && batch.includes(parsed.data.path)) {
              for await (const item of this.#tree(parsed.data.path, budget)) {
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
      if (full()) fail(".", `the listing has more than ${maxFiles} files; the rest was not scanned`, "BUDGET_EXCEEDED");
    } catch (error) {
      // The caller's abort or the scan's deadline end the scan; anything else ends the listing.
      if (signal.aborted) throw toModelgateError(signal.reason ?? error);
      const e = clock.signal.aborted ? budget.timeout() : hubError(error, `listing ${this.repo}@${this.commit}`);
      fail(".", e.message, e.code === "BUDGET_EXCEEDED" || e.code === "MALFORMED" ? e.code : "NETWORK");
    } finally {
      clearTimeout(timer);
    }
    if (dropped > 0) fail(".", `${dropped} more entries of the listing were rejected`);
    const entries: RootEntry[] = [];
    for (const [path, meta] of this.#files) {
      entries.push({
        path,
        size: meta.size,
        kind: "file",
        ...(meta.sha256 === undefined ? {} : { sha256: meta.sha256, ...(trusted ? { sha256Trusted: true } : {}) }),
      });
    }
    for (const [path, p] of problems) {
      const error = p.count > 1 ? `${p.error} (${p.count} times)` : p.error;
      entries.push({ path, size: 0, kind: "unreadable", error, errorCode: p.code });
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    yield* entries;
  }

  /** The items of a recursive tree listing, page by page, within the listing's budgets. */
  async *#tree(dir: string | undefined, budget: ListingBudget): AsyncGenerator<unknown> {
    const expand = this.#options.securityStatus === true;
    const where = dir === undefined ? "" : `/${encodePath(dir)}`;
    let url: string | undefined =
      `${this.hubUrl}/api/${repoTypeSegment(this.repoType)}/${this.repoId}/tree/${this.commit}${where}?recursive=true&expand=${expand}`;
    while (url !== undefined) {
      budget.page(url);
      const pageUrl: string = url;
      const page: { items: unknown[]; next: string | undefined } = await this.#transport.send(
        { url: pageUrl, headers: { accept: "application/json" } },
        budget.ctx,
        async ({ response }) => {
          if (!response.ok) {
            await response.body?.cancel().catch(() => undefined);
            throw statusError(response.status, `listing ${this.repo}@${this.commit}`);
          }
          const body = await readBody(response, budget.limits.maxPageBytes, budget.ctx.stats);
          let items: unknown;
          try {
            items = JSON.parse(new TextDecoder().decode(body));
          } catch {
            throw new ModelgateError("NETWORK", "a tree listing page is not JSON");
          }
          if (!Array.isArray(items)) throw new ModelgateError("NETWORK", "a tree listing page is not a list");
          return { items, next: nextLink(response.headers.get("link"), pageUrl) };
        },
      );
      budget.received(page.items.length);
      yield* page.items;
      url = page.next;
    }
  }

  /** @inheritdoc */
  open(path: string, _options?: OpenOptions): Promise<ByteSource> {
    const meta = this.#files.get(path);
    if (meta === undefined) return Promise.reject(new ModelgateError("INVALID_ARGUMENT", `${path} is not listed`));
    const pinned: PinnedDigest = {};
    if (meta.sha256 !== undefined) pinned.sha256 = meta.sha256;
    if (meta.gitSha1 !== undefined) pinned.gitSha1 = meta.gitSha1;
    const params: ConstructorParameters<typeof HubFileSource>[0] = {
      transport: this.#transport,
      url: `${this.hubUrl}/${this.repo}/resolve/${this.commit}/${encodePath(path)}`,
      size: meta.size,
      commit: this.commit,
      pinned,
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
  async verifyFile(
    path: string,
    source: ByteSource,
    signal: AbortSignal,
    options: { full?: boolean } = {},
  ): Promise<FileVerification> {
    const meta = this.#files.get(path);
    if (meta === undefined || !(source instanceof HubFileSource)) return {};
    const state = await source.integrity(options.full ?? this.#options.verify === "full", signal);
    const findings: FindingInput[] = state.problems.map((p) => ({
      ruleId: "hub/integrity-mismatch",
      message: `served bytes disagree with commit ${this.commit.slice(0, 12)} (${p.check}: expected ${p.expected}, got ${p.actual})`,
      evidence: { check: p.check, expected: p.expected, actual: p.actual, commit: this.commit },
    }));
    if (meta.upstream !== undefined) findings.push(meta.upstream);
    const verification: FileVerification = { findings, cacheable: state.problems.length === 0 };
    if (state.complete && state.sha256 !== undefined) verification.sha256 = state.sha256;
    const algorithm = meta.sha256 !== undefined ? "sha256" : "git-blob-sha1";
    const expected = meta.sha256 ?? meta.gitSha1;
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

/** The defined properties of an object. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Fetches the Hub's repository-level scan status (`?securityStatus=true`); undefined when unavailable. */
async function fetchSecurityStatus(
  transport: HubTransport,
  ctx: RequestContext,
  hubUrl: string,
  /** `{models|datasets|spaces}/owner/name`. */
  repo: string,
  commit: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const json = await transport.send(
      {
        url: `${hubUrl}/api/${repo}/revision/${commit}?securityStatus=true`,
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
