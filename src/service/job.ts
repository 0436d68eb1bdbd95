/**
 * From a request to a job and from a job to a report: target parsing, the containment of local
 * paths in the configured roots, job ids, and the scan itself (shared by the in-process runner and
 * the BullMQ worker).
 * @module
 */
import { createHash } from "node:crypto";
import { type BigIntStats, constants } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { z } from "zod";
import { isModelgateError, ModelgateError, toModelgateError } from "../core/errors.js";
import { TOOL_VERSION } from "../core/version.js";
import { canonicalJson, type PolicyOptions, resolvePolicy, validatePolicy } from "../policy/policy.js";
import type { ScanReport } from "../report/schema.js";
import type { VerdictCache } from "../scan/cache.js";
import { resolveLimits, scan, scanRoot } from "../scan/engine.js";
import { failureReport } from "../scan/many.js";
import type { ProgressEvent, ScanOptions } from "../scan/types.js";
import { parseTargetUrl } from "../sources/http/config.js";
import { DEFAULT_HUB_URL, parseHubUri } from "../sources/hub/config.js";
import type { HubTransport, HubTransportOptions } from "../sources/hub/transport.js";
import { parseOciUri } from "../sources/oci/config.js";
import { rootFor, type ScanTarget } from "../sources/roots.js";
import { parseS3Uri } from "../sources/s3/config.js";
import { ServiceError } from "./errors.js";
import {
  DEFAULT_REMOTE_PREFIXES,
  hopCheck,
  parseRemotePrefix,
  type RemotePrefix,
  remoteAllowed,
} from "./remote-allow.js";
import type { JobIdentity, JobOptions, JobProgress, ScanJobData } from "./types.js";

/** The server's caps: what a client may ask for at most. */
export interface ServiceCaps {
  /** Longest whole-scan deadline, ms (default one hour). */
  readonly maxTimeoutMs: number;
  /** Deadline when the client names none, ms (default the cap). */
  readonly defaultTimeoutMs: number;
  /** Most files analysed at once per job (default 4). */
  readonly maxConcurrency: number;
}

/** Default caps. */
export const DEFAULT_CAPS: ServiceCaps = Object.freeze({
  maxTimeoutMs: 3_600_000,
  defaultTimeoutMs: 3_600_000,
  maxConcurrency: 4,
});

/** What turning a request into a job needs. */
export interface PrepareContext {
  /** Real paths of the folders local targets must lie in (none: local targets are refused). */
  readonly roots: readonly string[];
  /** The server's policy (from `--policy`), used when the request carries none. */
  readonly defaultPolicy?: PolicyOptions | undefined;
  /**
   * Requests may carry a policy of their own, which replaces the server's (`serve
   * --request-policies`). Off by default: the operator's policy is the only one, and a request
   * carrying one is refused (`POLICY_NOT_ALLOWED`), since a policy can allow a payload, lower
   * severities or drop a required signature.
   */
  readonly requestPolicies?: boolean | undefined;
  /**
   * Remote targets clients may ask for (see `remote-allow.ts`); default: `hf://` only. Anything
   * else is refused (`REMOTE_NOT_ALLOWED`).
   */
  readonly remotePrefixes?: readonly RemotePrefix[] | undefined;
  /** Caps. */
  readonly caps: ServiceCaps;
}

const MAX_TARGET_LENGTH = 4096;

/** The body of `POST /v1/scans`. */
export const ScanRequestSchema = z.strictObject({
  target: z.string().min(1).max(MAX_TARGET_LENGTH),
  policy: z.record(z.string(), z.unknown()).optional(),
  options: z
    .strictObject({
      verify: z.enum(["read", "full"]).optional(),
      hash: z.boolean().optional(),
      timeoutSeconds: z.int().min(1).max(86_400).optional(),
      concurrency: z.int().min(1).max(1024).optional(),
    })
    .optional(),
});

/** The body of `POST /v1/scans`. */
export type ScanRequest = z.infer<typeof ScanRequestSchema>;

/** Options of an upload (query string of `POST /v1/scans/upload`). */
export type UploadRequest = Omit<ScanRequest, "target">;

/**
 * Resolves the configured roots to real, existing folders.
 * @param roots - folders as configured
 * @throws ModelgateError `INVALID_ARGUMENT` for a root that is not a folder
 */
export async function resolveRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    let real: string;
    try {
      real = await realpath(resolve(root));
    } catch (error) {
      throw new ModelgateError("INVALID_ARGUMENT", `root ${root}: ${toModelgateError(error).message}`);
    }
    if (!(await stat(real)).isDirectory()) throw new ModelgateError("INVALID_ARGUMENT", `root ${root} is not a folder`);
    out.push(real);
  }
  return out;
}

/** Whether `path` is `base` or inside it (both real, absolute). */
export function isWithin(path: string, base: string): boolean {
  const rel = relative(base, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Checks a local path against the roots: no `..` segment, resolved (symbolic links included)
 * inside one of them. A relative path is taken relative to the first root.
 * @param input - the path the client sent
 * @param roots - real paths of the roots
 * @returns the real path to scan
 * @throws ServiceError `PATH_OUTSIDE_ROOT` or `PATH_NOT_FOUND`
 */
export async function checkLocalPath(input: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) throw new ServiceError("PATH_OUTSIDE_ROOT", "local paths are not served (no --root)");
  if (input.includes("\0")) throw new ServiceError("INVALID_TARGET", "a path may not contain NUL");
  if (input.split(/[/\\]/).includes("..")) throw new ServiceError("PATH_OUTSIDE_ROOT", "a path may not contain '..'");
  const full = isAbsolute(input) ? resolve(input) : resolve(roots[0]!, input);
  // Lexically inside a root first: a path elsewhere is refused without touching the file system.
  if (!roots.some((root) => isWithin(full, root))) {
    throw new ServiceError("PATH_OUTSIDE_ROOT", "the path is outside the served roots");
  }
  let real: string;
  try {
    real = await realpath(full);
  } catch {
    throw new ServiceError("PATH_NOT_FOUND", "no such file or folder under the served roots");
  }
  if (!roots.some((root) => isWithin(real, root))) {
    throw new ServiceError("PATH_OUTSIDE_ROOT", "the path leads outside the served roots (a symbolic link)");
  }
  return real;
}

const isRemote = (t: string): boolean => /^(hf|https|s3|oci):\/\//i.test(t);

/**
 * What a target's job id derives from: a commit or a digest when the target pins one.
 * @param target - the target (a remote URI or a resolved path)
 * @param kind - what it is
 * @param digest - the SHA-256 of an upload
 * @param uploadName - the upload's file name
 */
export function identityOf(
  target: string,
  kind: ScanJobData["kind"],
  digest?: string,
  uploadName?: string,
): JobIdentity {
  // An upload's name is part of what is scanned (a name claims a format: `.pt`, `.keras`), and
  // of the report: uploads share a job only when both their bytes and their names agree.
  if (kind === "upload" && digest !== undefined) {
    return { content: `sha256:${digest}:${JSON.stringify(uploadName ?? "")}`, pinned: true };
  }
  if (kind === "remote") {
    try {
      if (target.startsWith("hf://")) {
        const uri = parseHubUri(target);
        if (uri.revision !== undefined && /^[0-9a-f]{40}$/.test(uri.revision)) {
          return { content: `commit:${uri.repo}@${uri.revision}/${uri.path ?? ""}`, pinned: true };
        }
      } else if (/^https:\/\//i.test(target)) {
        const sha = parseTargetUrl(target).sha256;
        if (sha !== undefined) return { content: `sha256:${sha}:${target}`, pinned: true };
      } else if (/^oci:\/\//i.test(target)) {
        const digest = parseOciUri(target).digest;
        if (digest !== undefined) return { content: `oci:${target}`, pinned: true };
      }
    } catch {
      // Checked when the job was prepared; an unparsable target is simply not pinned.
    }
  }
  return { content: `name:${kind}:${target}`, pinned: false };
}

/**
 * The job id: a digest of (content identity, policy hash, modelgate version, options), so
 * duplicate submissions share one scan. `generation` distinguishes rescans of unpinned targets.
 * @param data - the job
 * @param identity - its identity
 * @param generation - 0 for the first scan; the previous scan's finish time for a rescan
 */
export function jobIdOf(data: ScanJobData, identity: JobIdentity, generation = 0): string {
  const h = createHash("sha256")
    .update(`modelgate-job\0${TOOL_VERSION}\0${data.policyHash}\0${identity.content}\0`)
    .update(canonicalJson(data.options))
    .update(`\0${generation}`)
    .digest("hex");
  return `mg-${h.slice(0, 40)}`;
}

function clampOptions(request: UploadRequest, caps: ServiceCaps): JobOptions {
  const o = request.options ?? {};
  return {
    verify: o.verify ?? "default",
    hash: o.hash ?? true,
    timeoutMs: Math.min(
      caps.maxTimeoutMs,
      o.timeoutSeconds === undefined ? caps.defaultTimeoutMs : o.timeoutSeconds * 1000,
    ),
    concurrency: Math.min(caps.maxConcurrency, o.concurrency ?? caps.maxConcurrency),
  };
}

/**
 * The policy of a request: the inline one (validated; it may not set budgets) or the server's.
 * @throws ServiceError `POLICY_NOT_ALLOWED` (requests may not carry a policy), `INVALID_POLICY`
 */
function policyOf(request: UploadRequest, context: PrepareContext): { policy?: PolicyOptions; hash: string } {
  let policy = context.defaultPolicy;
  if (request.policy !== undefined) {
    if (context.requestPolicies !== true) {
      throw new ServiceError(
        "POLICY_NOT_ALLOWED",
        "this server applies its own policy: requests may not carry one (serve --request-policies allows it)",
      );
    }
    if ("limits" in request.policy) {
      throw new ServiceError("INVALID_POLICY", "a request's policy may not set limits (the server's caps apply)");
    }
    try {
      const { source: _source, ...valid } = validatePolicy(request.policy, "policy");
      policy = valid;
    } catch (error) {
      throw new ServiceError("INVALID_POLICY", isModelgateError(error) ? error.message : String(error));
    }
  }
  // The decisions' hash: a job decided under a suppression that has since expired is not reused.
  const hash = resolvePolicy(policy ?? {}).decisionsHash;
  return policy === undefined ? { hash } : { policy, hash };
}

/**
 * Validates a `POST /v1/scans` body and builds the job.
 * @param body - the parsed JSON body
 * @param context - roots, default policy, caps
 * @throws ServiceError naming what is wrong
 */
export async function prepareJob(
  body: unknown,
  context: PrepareContext,
): Promise<{ data: ScanJobData; identity: JobIdentity }> {
  const parsed = ScanRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ServiceError("BAD_REQUEST", `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`);
  }
  const request = parsed.data;
  const { policy, hash } = policyOf(request, context);
  const options = clampOptions(request, context.caps);
  let target = request.target;
  let kind: ScanJobData["kind"];
  if (isRemote(target)) {
    checkRemote(target);
    checkAllowed(target, context.remotePrefixes, "serve");
    kind = "remote";
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("/")) {
    throw new ServiceError("INVALID_TARGET", "unsupported target scheme (hf://, https://, s3://, oci:// or a path)");
  } else {
    target = await checkLocalPath(target, context.roots);
    kind = "local";
  }
  const data: ScanJobData = {
    target,
    kind,
    policyHash: hash,
    options,
    submittedAt: Date.now(),
    ...(policy === undefined ? {} : { policy }),
  };
  return { data, identity: identityOf(target, kind) };
}

/**
 * Builds the job of an uploaded file.
 * @param path - the private temporary file
 * @param upload - its name, digest and size
 * @param request - policy and options
 * @param context - default policy, caps
 */
export function prepareUploadJob(
  path: string,
  upload: { name: string; sha256: string; size: number },
  request: UploadRequest,
  context: PrepareContext,
): { data: ScanJobData; identity: JobIdentity } {
  const { policy, hash } = policyOf(request, context);
  const data: ScanJobData = {
    target: path,
    kind: "upload",
    upload,
    policyHash: hash,
    options: clampOptions(request, context.caps),
    submittedAt: Date.now(),
    ...(policy === undefined ? {} : { policy }),
  };
  return { data, identity: identityOf(path, "upload", upload.sha256, upload.name) };
}

/**
 * Refuses a remote target outside the prefixes (default `hf://` only).
 * @param command - the command whose `--allow-remote` the message names
 * @throws ServiceError `REMOTE_NOT_ALLOWED`
 */
function checkAllowed(target: string, prefixes: readonly RemotePrefix[] | undefined, command: string): void {
  const allowed = prefixes ?? DEFAULT_REMOTE_PREFIXES.map(parseRemotePrefix);
  if (!remoteAllowed(target, allowed)) {
    throw new ServiceError(
      "REMOTE_NOT_ALLOWED",
      `this server fetches only ${allowed.map((p) => p.text).join(", ") || "no remote targets"} (${command} --allow-remote)`,
    );
  }
}

function checkRemote(target: string): void {
  try {
    if (target.startsWith("hf://")) parseHubUri(target);
    else if (/^https:\/\//i.test(target)) parseTargetUrl(target);
    else if (/^s3:\/\//i.test(target)) parseS3Uri(target);
    else parseOciUri(target);
  } catch (error) {
    throw new ServiceError("INVALID_TARGET", isModelgateError(error) ? error.message : String(error));
  }
}

/** What running a job needs on the worker's side. */
export interface RunContext {
  /** Real paths of the roots local targets must lie in (checked again by the worker). */
  readonly roots: readonly string[];
  /** Real path of the folder uploads are spooled in (uploads elsewhere are refused). */
  readonly uploadDir?: string | undefined;
  /** The shared verdict cache. */
  readonly cache?: VerdictCache | undefined;
  /** Hub/URL transport shared by the worker's jobs. */
  readonly hubTransport?: HubTransport | undefined;
  /**
   * Remote targets this worker fetches (default `hf://` only): a job's target is checked again
   * (a queue entry is not trusted), and every request of its scan, each redirect hop included,
   * must stay where `hopCheck` (`remote-allow.ts`) allows.
   */
  readonly remotePrefixes?: readonly RemotePrefix[] | undefined;
  /** Environment of remote sources (`HF_ENDPOINT`, `HF_TOKEN`, AWS settings ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Caps the worker applies again (a queue entry is not trusted to respect them). */
  readonly caps: ServiceCaps;
  /** Aborts the scan (shutdown). */
  readonly signal?: AbortSignal | undefined;
  /** Throttled progress. */
  readonly onProgress?: ((progress: JobProgress) => void) | undefined;
  /** Least time, ms, between two progress updates, and before the first (default 250). */
  readonly progressIntervalMs?: number | undefined;
  /** Whether a transient failure will be retried (false on the last attempt: report it instead). */
  readonly willRetry: boolean;
}

/** A failure worth retrying (`NETWORK`, `TIMEOUT`): the queue tries again with backoff. */
export class TransientJobError extends Error {
  /** The error code. */
  readonly code: string;
  /**
   * @param code - `NETWORK` or `TIMEOUT`
   * @param message - what failed
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = "TransientJobError";
    this.code = code;
  }
}

const TRANSIENT = new Set(["NETWORK", "TIMEOUT"]);

/**
 * Scans a local path (a checked real path under a root, or an upload) as it was when checked: its
 * device and inode are taken right after the check, and the root refuses to list anything else
 * (a folder swapped for a link to elsewhere in between), closing the gap between check and scan.
 */
async function scanLocal(real: string, bases: readonly string[], options: ScanOptions): Promise<ScanReport> {
  // The identity comes from an open handle whose current path is checked to lie under a root: a
  // folder on the way swapped for a link after the path was checked makes the handle's path (or,
  // later, the identity the scan finds) differ, and nothing outside the roots is listed.
  const { where, info } = await openedUnder(real, bases);
  const limits = resolveLimits({ ...options.policy?.limits, ...options.limits });
  const root = await rootFor(where, {
    expect: { dev: info.dev, ino: info.ino },
    maxDirectoryDepth: limits.maxDirectoryDepth,
    maxFiles: limits.maxFiles,
  });
  try {
    return await scanRoot(root, options);
  } finally {
    await root.close?.().catch(() => undefined);
  }
}

/**
 * Opens a checked path (without blocking on a FIFO) and returns where the open file or folder
 * really is and its identity, refusing one that is not under `bases` now.
 * @param real - the path as checked
 * @param bases - the roots (or the upload folder) it must lie in
 */
async function openedUnder(real: string, bases: readonly string[]): Promise<{ where: string; info: BigIntStats }> {
  const handle = await open(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const where = process.platform === "linux" ? await realpath(`/proc/self/fd/${handle.fd}`) : await realpath(real);
    if (!bases.some((base) => isWithin(where, base))) {
      throw new ServiceError(
        "PATH_OUTSIDE_ROOT",
        "the path leads outside the served roots (it changed after it was checked)",
      );
    }
    return { where, info: await handle.stat({ bigint: true }) };
  } finally {
    await handle.close();
  }
}

/** The scan target of a job, re-checked against the worker's own configuration. */
async function scanTargetOf(data: ScanJobData, context: RunContext): Promise<ScanTarget> {
  if (data.kind === "local") return checkLocalPath(data.target, context.roots);
  if (data.kind === "upload") {
    if (context.uploadDir === undefined) throw new ModelgateError("INVALID_ARGUMENT", "this worker takes no uploads");
    const real = await realpath(data.target).catch(() => {
      throw new ModelgateError("INVALID_ARGUMENT", "the uploaded file is gone");
    });
    if (!isWithin(real, context.uploadDir) || real === context.uploadDir) {
      throw new ModelgateError("INVALID_ARGUMENT", "the upload is outside the worker's upload folder");
    }
    return real;
  }
  const t = data.target;
  const env = context.env;
  const verify = data.options.verify === "default" ? {} : { verify: data.options.verify };
  const prefixes = context.remotePrefixes ?? DEFAULT_REMOTE_PREFIXES.map(parseRemotePrefix);
  checkAllowed(t, prefixes, "serve/worker");
  let hubOrigin: string | undefined;
  try {
    hubOrigin = new URL(env.HF_ENDPOINT?.trim() || DEFAULT_HUB_URL).origin;
  } catch {
    // The Hub source refuses a bad HF_ENDPOINT itself.
  }
  const allowUrl = hopCheck({ target: t, hubOrigin }, prefixes);
  // The shared pool's budgets with this job's destinations, or a private transport's options.
  const transport: HubTransport | HubTransportOptions =
    context.hubTransport === undefined ? { allowUrl } : context.hubTransport.withUrlCheck(allowUrl);
  if (t.startsWith("hf://")) {
    const uri = parseHubUri(t);
    return {
      hub: {
        repo: uri.repo,
        ...verify,
        env,
        ...(uri.revision === undefined ? {} : { revision: uri.revision }),
        ...(uri.path === undefined ? {} : { paths: [uri.path] }),
        transport,
      },
    };
  }
  if (/^https:\/\//i.test(t)) {
    parseTargetUrl(t);
    return { url: { url: t, ...verify, env, transport } };
  }
  if (/^s3:\/\//i.test(t)) {
    const { bucket, prefix } = parseS3Uri(t);
    return { s3: { bucket, prefix, ...verify, env } };
  }
  if (/^oci:\/\//i.test(t)) {
    parseOciUri(t);
    // Its own transport as before (options, not the shared pool), with the same URL check: the
    // token service's realm and blob redirects are requests like any other.
    return { oci: { reference: t, ...verify, env, transport: { allowUrl } } };
  }
  throw new ModelgateError("INVALID_ARGUMENT", "unsupported target");
}

/**
 * Runs one job: re-checks the target against this worker's roots, scans under the job's policy
 * and the clamped options, and returns the report. A target that cannot be scanned at all gives an
 * incomplete `invalid` report (as `scanMany` does); a transient failure (`NETWORK`, `TIMEOUT`)
 * throws {@link TransientJobError} while retries remain.
 * @param data - the job
 * @param context - roots, cache, environment, caps
 */
export async function runScanJob(data: ScanJobData, context: RunContext): Promise<ScanReport> {
  const caps = context.caps;
  const options: ScanOptions = {
    hash: data.options.hash !== false,
    concurrency: Math.max(1, Math.min(caps.maxConcurrency, data.options.concurrency)),
    limits: { scanTimeoutMs: Math.max(1000, Math.min(caps.maxTimeoutMs, data.options.timeoutMs)) },
    signature: false,
    ...(context.cache === undefined ? {} : { cache: context.cache }),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  };
  if (data.policy !== undefined) {
    // The queue entry is not trusted either: the same rules as at submission.
    const { source: _s, limits: _l, ...policy } = validatePolicy(data.policy, "job policy");
    options.policy = policy;
  }
  const progress = { filesTotal: 0, filesDone: 0, bytesDone: 0, path: "" };
  // At most one update per interval, none in the first: in Redis mode each is a write and an event
  // every `events()` consumer reads. A finished job's status takes its counts from the report.
  let last = Date.now();
  const interval = Math.max(0, context.progressIntervalMs ?? 250);
  if (context.onProgress !== undefined) {
    const report = context.onProgress;
    options.onProgress = (event: ProgressEvent) => {
      if (event.phase === "list" || event.phase === "done") {
        progress.filesTotal = event.bytesTotal;
        progress.filesDone = event.bytesDone;
      } else {
        progress.bytesDone = event.bytesDone;
        progress.path = event.path;
      }
      const now = Date.now();
      if (now - last >= interval) {
        last = now;
        report({ ...progress });
      }
    };
  }
  let target: ScanTarget | undefined;
  try {
    target = await scanTargetOf(data, context);
    const bases = data.kind === "upload" ? (context.uploadDir === undefined ? [] : [context.uploadDir]) : context.roots;
    const report = typeof target === "string" ? await scanLocal(target, bases, options) : await scan(target, options);
    const transient = report.errors.find((e) => e.code === "NETWORK");
    if (transient !== undefined && context.willRetry) throw new TransientJobError(transient.code, transient.message);
    return data.kind === "upload" && data.upload !== undefined
      ? { ...report, target: { ...report.target, name: data.upload.name } }
      : report;
  } catch (error) {
    if (error instanceof TransientJobError || error instanceof ServiceError) {
      if (error instanceof ServiceError) {
        return failureReport(data.target, new ModelgateError("INVALID_ARGUMENT", error.message));
      }
      throw error;
    }
    const e = toModelgateError(error);
    if (TRANSIENT.has(e.code) && context.willRetry && context.signal?.aborted !== true) {
      throw new TransientJobError(e.code, e.message);
    }
    return failureReport(target ?? data.target, e);
  }
}
