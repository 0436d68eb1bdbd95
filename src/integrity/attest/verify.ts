/**
 * Verifying a scan attestation against the files it names: parse → signature (key, certificate
 * chain or Sigstore, as OMS signatures) → statement → requirements (result, policy digest, age,
 * verifier) → subjects (the SHA-256 of exactly the target's files). The first failing stage is
 * named in the result; hostile input never throws.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { pushAll } from "../../core/arrays.js";
import { readChunks } from "../../core/byte-source.js";
import { toModelgateError } from "../../core/errors.js";
import type { RootEntry, ScanRoot } from "../../core/root.js";
import type { Verdict } from "../../core/severity.js";
import type { HubTarget } from "../../sources/hub/root.js";
import { rootFor } from "../../sources/roots.js";
import { defaultHashPool, type HashPool } from "../hash/pool.js";
import { OmsError, parseBundle } from "../oms/bundle.js";
import type { SignerInfo, SigningMethod } from "../oms/result.js";
import { checkSignature, type VerifyOptions } from "../oms/verify.js";
import { compareCodePoints, mapLimit } from "../walk.js";
import {
  DEFAULT_MAX_SUBJECTS,
  DEFAULT_VERIFIER_ID,
  endOfDay,
  parseScanStatement,
  SCAN_EXTENSION_KEY,
  type ScanStatement,
  StatementError,
} from "./statement.js";
import { verdictOption, verdictWithin } from "./verdict.js";

/** Largest attestation accepted by default (32 MiB: about 150 000 subjects). */
export const MAX_ATTESTATION_BYTES = 32 * 1024 * 1024;
/** Clock skew tolerated for a `timeVerified` in the future. */
const FUTURE_SKEW_MS = 5 * 60 * 1000;

/** Stages of attestation verification, in order. */
export const ATTESTATION_STAGES = ["parse", "signature", "policy", "statement", "requirements", "subjects"] as const;
/** A stage of attestation verification. */
export type AttestationStage = (typeof ATTESTATION_STAGES)[number];
/**
 * Which requirement failed (with `failedStage` `requirements`): `verifier` (not an accepted
 * `verifier.id`), `not-passed` (a FAILED result), `policy-digest` (another policy), `future`
 * (`timeVerified` ahead of the clock), `too-old` (`maxAge`), `resource` (another Hub revision),
 * `suppression-expired` (a suppression the PASSED result depended on has expired since),
 * `verdict` (the attested verdict is worse than `maxVerdict`).
 */
export type AttestationRequirement =
  | "verifier"
  | "not-passed"
  | "verdict"
  | "policy-digest"
  | "future"
  | "too-old"
  | "resource"
  | "suppression-expired";

/** Options of {@link verifyAttestation}. */
export interface VerifyAttestationOptions
  extends Pick<
    VerifyOptions,
    "publicKey" | "certificateChain" | "certificatePolicy" | "time" | "identity" | "issuer" | "trustedRoot"
  > {
  /**
   * Fail unless the attestation's result is PASSED (default true: a gate written as "verify, then
   * load" must not admit a signed record of a failed scan). `false` verifies a FAILED attestation
   * too (what the scan found), reporting its result.
   */
  requirePassed?: boolean;
  /**
   * Worst attested verdict accepted: `clean` demands a clean scan even when the attester let a
   * suspicious one pass (`--pass-on suspicious`). Checked whatever `requirePassed` says. Default:
   * any verdict the attestation's own result allows.
   */
  maxVerdict?: Verdict;
  /** Required policy digest (SHA-256 hex of the policy's canonical JSON, as `report.policy.hash`). */
  policyDigest?: string;
  /** Oldest acceptable attestation: milliseconds since its `timeVerified`. */
  maxAge?: number;
  /** The current time, for `maxAge` and suppression expiry (default now). */
  now?: Date;
  /** Accepted `verifier.id` values (default {@link DEFAULT_VERIFIER_ID}). */
  verifierId?: string | readonly string[];
  /** Files of the target the attestation does not name do not fail verification (default false). */
  allowExtraFiles?: boolean;
  /** Paths (relative to the target) left out of the comparison, such as the attestation file itself. */
  excludePaths?: readonly string[];
  /** Most subjects accepted (default 100 000). */
  maxSubjects?: number;
  /** Largest attestation accepted, in bytes (default {@link MAX_ATTESTATION_BYTES}). */
  maxBytes?: number;
  /** Hash pool for local files (default: the process-wide pool). */
  pool?: HashPool;
  /** Stops the work. */
  signal?: AbortSignal;
}

/** How one file compares with the attestation. */
export interface AttestedFile {
  /** Path relative to the target. */
  readonly path: string;
  /** `ok`: same SHA-256; `mismatch`: different bytes (or not a regular file); `missing`: named but absent; `extra`: present but not named. */
  readonly status: "ok" | "mismatch" | "missing" | "extra";
  /** The attested digest. */
  readonly expected?: string;
  /** The digest of the file now. */
  readonly actual?: string;
  /** Why, when not `ok`. */
  readonly reason?: string;
}

/** The outcome of {@link verifyAttestation}. */
export interface AttestationVerification {
  /** `verified`: every check passed. */
  status: "verified" | "failed";
  /** The stage that failed. */
  failedStage?: AttestationStage;
  /** The requirement that failed, when `failedStage` is `requirements`. */
  failedRequirement?: AttestationRequirement;
  /** Why it failed. */
  errors: string[];
  /** Accepted oddities. */
  warnings: string[];
  /** The signing method of the bundle. */
  method?: SigningMethod;
  /** Who signed. */
  signer?: SignerInfo;
  /** The statement, once its signature and shape were checked. */
  statement?: ScanStatement;
  /** Each file compared (subjects and files of the target). */
  files: AttestedFile[];
}

/** A target to check an attestation against: a local directory or file, a Hub repository, or any scan root. */
export type AttestationTarget = string | { readonly hub: HubTarget } | ScanRoot;

class StageError extends Error {
  constructor(
    readonly stage: AttestationStage,
    message: string,
    readonly requirement?: AttestationRequirement,
  ) {
    super(message);
  }
}

/** A requirement the attestation does not meet. */
const unmet = (requirement: AttestationRequirement, message: string): StageError =>
  new StageError("requirements", message, requirement);

function isRoot(target: AttestationTarget): target is ScanRoot {
  return typeof target === "object" && "list" in target && typeof target.list === "function";
}

/**
 * Parses a duration such as `90s`, `30m`, `12h`, `7d` or `2w` into milliseconds.
 * @param text - the duration
 * @returns milliseconds, or undefined when the text is not a duration
 */
export function parseDuration(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,8})(s|m|h|d|w)$/.exec(text.trim());
  if (match === null) return undefined;
  const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[match[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(match[1]) * unit;
}

function checkRequirements(
  statement: ScanStatement,
  root: ScanRoot,
  options: VerifyAttestationOptions,
  warnings: string[],
): void {
  const p = statement.predicate;
  const accepted = options.verifierId ?? DEFAULT_VERIFIER_ID;
  const ids = typeof accepted === "string" ? [accepted] : accepted;
  if (!ids.includes(p.verifier.id)) {
    throw unmet("verifier", `verifier ${p.verifier.id} is not an accepted verifier (${ids.join(", ")})`);
  }
  if (options.requirePassed !== false && p.verificationResult !== "PASSED") {
    const ext = p[SCAN_EXTENSION_KEY];
    throw unmet(
      "not-passed",
      `the scan did not pass: verdict ${ext.verdict}${ext.complete ? "" : ", incomplete"} (threshold ${ext.passThreshold})`,
    );
  }
  if (options.maxVerdict !== undefined) {
    const ext = p[SCAN_EXTENSION_KEY];
    if (!verdictWithin(ext.verdict, options.maxVerdict)) {
      throw unmet("verdict", `the attested verdict is ${ext.verdict}, worse than the required ${options.maxVerdict}`);
    }
  }
  if (options.policyDigest !== undefined && p.policy.digest.sha256 !== options.policyDigest.toLowerCase()) {
    throw unmet(
      "policy-digest",
      `the scan ran under policy sha256:${p.policy.digest.sha256}, not the required sha256:${options.policyDigest.toLowerCase()}`,
    );
  }
  const now = (options.now ?? new Date()).getTime();
  const at = Date.parse(p.timeVerified);
  if (at > now + FUTURE_SKEW_MS) throw unmet("future", `timeVerified ${p.timeVerified} is in the future`);
  if (options.maxAge !== undefined && now - at > options.maxAge) {
    throw unmet(
      "too-old",
      `the attestation is too old: scanned at ${p.timeVerified}, more than ${Math.round(options.maxAge / 1000)} s ago`,
    );
  }
  const hub = root.target.hub;
  if (hub !== undefined) {
    const expected = `hf://${hub.repo}@${hub.commit}`;
    if (p.resourceUri !== expected && !p.resourceUri.startsWith(`${expected}/`)) {
      throw unmet("resource", `the attestation is about ${p.resourceUri}, not ${expected}`);
    }
  }
  // A PASSED result that depended on a suppression holds until that suppression expires: after
  // it, the finding it accepted counts again (whatever `maxAge` allows).
  const expires = p[SCAN_EXTENSION_KEY].suppressionsExpire;
  if (expires !== undefined && now > endOfDay(expires)) {
    const message = `a policy suppression the result depended on expired on ${expires}: the findings it accepted count again (scan again)`;
    if (p.verificationResult === "PASSED") throw unmet("suppression-expired", message);
    warnings.push(message);
  }
}

async function sha256Of(root: ScanRoot, entry: RootEntry, pool: HashPool, signal: AbortSignal): Promise<string> {
  if (root.localDir !== undefined) {
    const result = await pool.hash({
      path: join(root.localDir, entry.path),
      noFollow: true,
      expectedSize: entry.size,
      algorithms: ["sha256"],
      signal,
    });
    return result.digests[0]?.sha256 ?? "";
  }
  const source = await root.open(entry.path, { signal, entry });
  try {
    const hash = createHash("sha256");
    for await (const chunk of readChunks(source)) {
      signal.throwIfAborted();
      hash.update(chunk);
    }
    return hash.digest("hex");
  } finally {
    await source.close?.().catch(() => undefined);
  }
}

async function compareSubjects(
  statement: ScanStatement,
  root: ScanRoot,
  options: VerifyAttestationOptions,
  signal: AbortSignal,
): Promise<AttestedFile[]> {
  const expected = new Map(statement.subject.map((s) => [s.name, s.digest.sha256]));
  const excluded = new Set(options.excludePaths ?? []);
  const files: AttestedFile[] = [];
  const toHash: RootEntry[] = [];
  const seen = new Set<string>();
  const limit = (options.maxSubjects ?? DEFAULT_MAX_SUBJECTS) * 2 + 10_000;
  let listed = 0;
  for await (const entry of root.list(signal)) {
    if (++listed > limit) throw new StageError("subjects", `the target lists more than ${limit} entries`);
    if (entry.kind === "skipped" && entry.skipped === "vcs") continue;
    if (excluded.has(entry.path)) continue;
    const want = expected.get(entry.path);
    seen.add(entry.path);
    if (want === undefined) {
      files.push({
        path: entry.path,
        status: "extra",
        reason: entry.kind === "file" ? "not in the attestation" : `a ${entry.kind} entry not in the attestation`,
      });
      continue;
    }
    if (entry.kind !== "file") {
      files.push({
        path: entry.path,
        status: "mismatch",
        expected: want,
        reason:
          entry.kind === "unreadable" ? `unreadable: ${entry.error ?? "?"}` : `now a ${entry.kind}, not a regular file`,
      });
      continue;
    }
    toHash.push(entry);
  }
  for (const [name, digest] of expected) {
    if (!seen.has(name)) files.push({ path: name, status: "missing", expected: digest, reason: "not in the target" });
  }
  const pool = options.pool ?? defaultHashPool();
  const hashed = await mapLimit(toHash, Math.max(2, pool.size * 2), async (entry): Promise<AttestedFile> => {
    const want = expected.get(entry.path) ?? "";
    try {
      const actual = await sha256Of(root, entry, pool, signal);
      return actual === want
        ? { path: entry.path, status: "ok", expected: want, actual }
        : { path: entry.path, status: "mismatch", expected: want, actual, reason: "content differs" };
    } catch (error) {
      const typed = toModelgateError(error);
      if (typed.code === "ABORTED") throw typed;
      return { path: entry.path, status: "mismatch", expected: want, reason: typed.message };
    }
  });
  pushAll(files, hashed);
  return files.sort((a, b) => compareCodePoints(a.path, b.path));
}

/**
 * Verifies a scan attestation (a Sigstore bundle made by `attest`) against a target: the
 * signature with the trust material for the bundle's method (a public key, CA certificates, or a
 * Sigstore identity, issuer and trust root; never material from the bundle itself), the statement's
 * shape, the caller's requirements (`requirePassed`, `maxVerdict`, `policyDigest`, `maxAge`, `verifierId`), then
 * the SHA-256 of exactly the target's files against the subjects: a changed, missing or (unless
 * `allowExtraFiles`) added file fails.
 * @param bundle - the attestation: JSON text, bytes or a parsed object
 * @param target - a directory or file path, `{ hub }`, or a scan root
 * @param options - trust material and requirements
 * @returns the result; `failed` with the stage and reason for any hostile or non-matching input
 * @throws ModelgateError for caller errors only (a bad key or certificate, a bad `maxVerdict`, a target that cannot be opened, abort)
 */
export async function verifyAttestation(
  bundle: string | Uint8Array | Record<string, unknown>,
  target: AttestationTarget,
  options: VerifyAttestationOptions = {},
): Promise<AttestationVerification> {
  if (options.maxVerdict !== undefined) verdictOption(options.maxVerdict, "maxVerdict");
  const result: AttestationVerification = { status: "failed", errors: [], warnings: [], files: [] };
  const signal = options.signal ?? new AbortController().signal;
  const maxBytes = options.maxBytes ?? MAX_ATTESTATION_BYTES;
  const owned = !isRoot(target);
  const root = isRoot(target) ? target : await rootFor(target, { signal });
  try {
    if (typeof bundle !== "object" || bundle instanceof Uint8Array) {
      const size = typeof bundle === "string" ? Buffer.byteLength(bundle) : bundle.length;
      if (size > maxBytes) throw new StageError("parse", `attestation larger than ${maxBytes} bytes`);
    }
    const parsed = parseBundle(bundle);
    result.method = parsed.method;
    const outcome = await checkSignature(parsed, { ...options, requireTrust: true, allowLegacy: false });
    if (outcome.signer !== undefined) result.signer = outcome.signer;
    pushAll(result.warnings, outcome.warnings);
    const statement = parseScanStatement(parsed.payloadType, parsed.payload, options.maxSubjects);
    result.statement = statement;
    checkRequirements(statement, root, options, result.warnings);
    result.files = await compareSubjects(statement, root, options, signal);
    const bad = result.files.filter((f) => f.status !== "ok" && !(f.status === "extra" && options.allowExtraFiles));
    if (bad.length > 0) {
      const count = (s: AttestedFile["status"]) => bad.filter((f) => f.status === s).length;
      const parts = (["mismatch", "missing", "extra"] as const)
        .filter((s) => count(s) > 0)
        .map((s) => `${count(s)} ${s}`);
      throw new StageError("subjects", `the target's files do not match the attestation: ${parts.join(", ")}`);
    }
    result.status = "verified";
    return result;
  } catch (error) {
    if (error instanceof StageError) {
      result.failedStage = error.stage;
      if (error.requirement !== undefined) result.failedRequirement = error.requirement;
      result.errors.push(error.message);
      return result;
    }
    if (error instanceof OmsError) {
      result.failedStage = error.stage === "manifest" ? "subjects" : error.stage;
      result.errors.push(error.message);
      return result;
    }
    if (error instanceof StatementError) {
      result.failedStage = "statement";
      result.errors.push(error.message);
      return result;
    }
    throw toModelgateError(error);
  } finally {
    if (owned) await root.close?.().catch(() => undefined);
  }
}
