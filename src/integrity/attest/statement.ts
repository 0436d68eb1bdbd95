/**
 * Scan attestations: an in-toto Statement v1 whose subjects are the scanned files and whose
 * predicate is a SLSA Verification Summary (VSA v1) of the scan, with modelgate's own fields under
 * a URI-named extension key. Built from a report (taken structurally, so this layer does not import
 * `src/report/`), and parsed back strictly.
 * @module
 */

import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ModelgateError } from "../../core/errors.js";
import { canonicalJson, parsePlainJson } from "../../core/json.js";
import { VERDICTS, type Verdict } from "../../core/severity.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../oms/bundle.js";
import { STATEMENT_TYPE } from "../oms/statement.js";
import { isSafeRelativePath } from "../pins/pins.js";
import { compareCodePoints } from "../walk.js";
import { isPassThreshold, isVerdict, type PassThreshold, verdictWithin } from "./verdict.js";

/** The VSA predicate type. */
export const VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1";
/** Default `verifier.id`: names modelgate (a mirror may name itself instead, see `verifierId`). */
export const DEFAULT_VERIFIER_ID = "https://github.com/modelgate/modelgate";
/** Key of modelgate's extension object in the predicate (VSA extension fields are named by URIs). */
export const SCAN_EXTENSION_KEY = "https://github.com/modelgate/modelgate/attestation/scan/v1";
/** `verifiedLevels` value of a passed scan whose files were all clean (not a SLSA level). */
export const LEVEL_CLEAN = "MODELGATE_SCAN_CLEAN";
/** `verifiedLevels` value of a passed scan whose worst file was suspicious (only with threshold `suspicious`). */
export const LEVEL_SUSPICIOUS = "MODELGATE_SCAN_SUSPICIOUS";
/** Default most subjects accepted when verifying. */
export const DEFAULT_MAX_SUBJECTS = 100_000;
/** JSON budgets of a statement (payload). */
const STATEMENT_JSON = { maxDepth: 16, maxTreeBytes: 64 << 20 } as const;

export type { PassThreshold } from "./verdict.js";

/** What a file of a report needs to be attested. */
export interface AttestableFile {
  /** POSIX path relative to the scanned root. */
  readonly path: string;
  /** SHA-256 over every byte of the file. */
  readonly sha256?: string | undefined;
  /** The file's verdict. */
  readonly verdict: Verdict;
  /** Findings a policy suppression matched, each with the suppression (its `expires` date). */
  readonly suppressed?: readonly { readonly suppression: { readonly expires?: string | undefined } }[] | undefined;
}

/** The part of a `ScanReport` an attestation is built from (a `ScanReport` is one). */
export interface AttestableReport {
  /** The tool that wrote the report. */
  readonly tool: { readonly name: string; readonly version: string };
  /** What was scanned. */
  readonly target: {
    readonly kind: string;
    readonly name: string;
    readonly hub?:
      | { readonly repo: string; readonly commit: string; readonly paths?: readonly string[] | undefined }
      | undefined;
    readonly http?: { readonly url: string } | undefined;
    readonly s3?: { readonly bucket: string; readonly prefix: string } | undefined;
    readonly oci?:
      | {
          readonly registry: string;
          readonly repository: string;
          readonly digest: string;
          readonly layout?: string | undefined;
        }
      | undefined;
  };
  /** When the scan started (ISO 8601). */
  readonly startedAt: string;
  /** How long it took. */
  readonly durationMs: number;
  /** Worst verdict. */
  readonly verdict: Verdict;
  /** False when the scan did not finish. */
  readonly complete: boolean;
  /** Per-file results. */
  readonly files: readonly AttestableFile[];
  /** Problems that kept the scan from finishing. */
  readonly errors: readonly unknown[];
  /** Counts. */
  readonly summary: { readonly findings: number; readonly byVerdict: Readonly<Record<Verdict, number>> };
  /** The policy in force, and what each suppression did. */
  readonly policy?:
    | {
        readonly hash: string;
        readonly source?: string | undefined;
        readonly suppressions?:
          | readonly { readonly status: string; readonly matched: number; readonly expires?: string | undefined }[]
          | undefined;
      }
    | undefined;
  /** OMS signature verification of the scanned directory. */
  readonly signature?:
    | {
        readonly status: string;
        readonly signaturePath?: string | undefined;
        /** The model root the signature covers (`.` for the scanned directory itself). */
        readonly model?: string | undefined;
        /** Whether verified signatures cover every scanned file. */
        readonly coverage?: { readonly complete: boolean } | undefined;
      }
    | undefined;
}

/** Options of {@link buildScanStatement}. */
export interface ScanStatementOptions {
  /** Worst verdict that still passes (default `clean`: only a clean scan passes). */
  passThreshold?: PassThreshold;
  /** `verifier.id` (default {@link DEFAULT_VERIFIER_ID}); a mirror may name its own deployment. */
  verifierId?: string;
  /** `resourceUri` (default: derived from the report's target). */
  resourceUri?: string;
  /** `policy.uri` (default: the policy file as a `file:` URL, else `urn:modelgate:policy:default`). */
  policyUri?: string;
}

/** modelgate's extension fields of the predicate. */
export interface ScanExtension {
  /** The report's verdict. */
  readonly verdict: Verdict;
  /** The worst verdict that passed when the attestation was made. */
  readonly passThreshold: PassThreshold;
  /** Whether the scan finished without operational errors (a scan that did not always fails). */
  readonly complete: boolean;
  /** SHA-256 of the report's canonical JSON (keys sorted, no whitespace). */
  readonly reportSha256: string;
  /** modelgate version that scanned. */
  readonly toolVersion: string;
  /** Files per verdict. */
  readonly byVerdict: Readonly<Record<Verdict, number>>;
  /** Findings (suppressed ones excluded). */
  readonly findings: number;
  /**
   * The earliest `expires` date (`YYYY-MM-DD`, the last day it applies, UTC) of the suppressions
   * the result depended on: those that suppressed a finding of the report, and the active ones the
   * policy counted a match for. After that day the result no longer holds (the finding would count
   * again), so verifiers fail a PASSED attestation. Absent when no such suppression expires (and in
   * attestations made before this field existed).
   */
  readonly suppressionsExpire?: string;
}

/** A scan attestation's statement, as built or as parsed. */
export interface ScanStatement {
  /** Always {@link STATEMENT_TYPE}. */
  readonly _type: string;
  /** The scanned files. */
  readonly subject: readonly { readonly name: string; readonly digest: { readonly sha256: string } }[];
  /** Always {@link VSA_PREDICATE_TYPE}. */
  readonly predicateType: string;
  /** The verification summary. */
  readonly predicate: {
    readonly verifier: { readonly id: string; readonly version?: Readonly<Record<string, string>> };
    readonly timeVerified: string;
    readonly resourceUri: string;
    readonly policy: { readonly uri: string; readonly digest: { readonly sha256: string } };
    readonly inputAttestations?: readonly { readonly uri: string; readonly digest: { readonly sha256: string } }[];
    readonly verificationResult: "PASSED" | "FAILED";
    readonly verifiedLevels: readonly string[];
    readonly [SCAN_EXTENSION_KEY]: ScanExtension;
  };
}

/** Why a report cannot be attested. */
export type AttestationErrorReason = "unhashed-files" | "no-files" | "unsafe-path" | "no-resource-uri" | "bad-report";

/** A report that cannot be attested (files without a SHA-256, no files, no resource URI ...). */
export class AttestationError extends ModelgateError {
  /** Why. */
  readonly reason: AttestationErrorReason;
  /** The files concerned (for `unhashed-files` and `unsafe-path`). */
  readonly paths: readonly string[];

  /**
   * @param reason - why
   * @param message - what to tell the user
   * @param paths - the files concerned
   */
  constructor(reason: AttestationErrorReason, message: string, paths: readonly string[] = []) {
    super("INVALID_ARGUMENT", message);
    this.name = "AttestationError";
    this.reason = reason;
    this.paths = paths;
  }
}

export { canonicalJson } from "../../core/json.js";

/**
 * SHA-256 of a report's canonical JSON ({@link canonicalJson}).
 * @param report - the report as a JSON value
 */
export function reportDigest(report: unknown): string {
  return createHash("sha256").update(canonicalJson(report), "utf8").digest("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;
/** A calendar date, `YYYY-MM-DD`. */
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Whether text is a real calendar date `YYYY-MM-DD` (not `2026-02-30`). */
export function isCalendarDate(text: unknown): text is string {
  if (typeof text !== "string" || !DATE.test(text)) return false;
  const at = Date.parse(`${text}T00:00:00.000Z`);
  return Number.isFinite(at) && new Date(at).toISOString().slice(0, 10) === text;
}

/** End of a suppression's last day (UTC), in epoch milliseconds. */
export function endOfDay(date: string): number {
  return Date.parse(`${date}T23:59:59.999Z`);
}

/**
 * The earliest expiry of the suppressions a report's result depended on: those of its suppressed
 * findings (each carries the suppression that matched), and the active suppressions the policy
 * counted matches for (the report lists only the first findings of a rule; a later one may have
 * been suppressed by another suppression).
 * @throws AttestationError when an expiry is not a date
 */
function suppressionsExpireOf(report: AttestableReport): string | undefined {
  const dates: unknown[] = [];
  for (const file of report.files) {
    for (const finding of file.suppressed ?? []) {
      if (finding.suppression.expires !== undefined) dates.push(finding.suppression.expires);
    }
  }
  for (const use of report.policy?.suppressions ?? []) {
    if (use.status === "active" && use.matched > 0 && use.expires !== undefined) dates.push(use.expires);
  }
  let earliest: string | undefined;
  for (const date of dates) {
    if (!isCalendarDate(date)) {
      throw new AttestationError("bad-report", `a suppression's expiry ${JSON.stringify(date)} is not a date`);
    }
    if (earliest === undefined || date < earliest) earliest = date;
  }
  return earliest;
}

/** `resourceUri` of a report's target. */
function resourceUriOf(target: AttestableReport["target"]): string | undefined {
  if (target.hub !== undefined) {
    const only = target.hub.paths?.length === 1 ? `/${target.hub.paths[0]}` : "";
    return `hf://${target.hub.repo}@${target.hub.commit}${only}`;
  }
  if (target.oci !== undefined) {
    const o = target.oci;
    if (o.registry !== "") return `oci://${o.registry}/${o.repository}@${o.digest}`;
    if (o.layout !== undefined) return `${pathToFileURL(resolve(o.layout)).href}#${o.digest}`;
  }
  if (target.http !== undefined) return target.http.url;
  if (target.s3 !== undefined) return `s3://${target.s3.bucket}/${target.s3.prefix}`;
  if (target.kind === "directory" || target.kind === "file") return pathToFileURL(resolve(target.name)).href;
  return undefined;
}

function policyUriOf(source: string | undefined): string {
  if (source === undefined || source === "") return "urn:modelgate:policy:default";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return source;
  return pathToFileURL(resolve(source)).href;
}

/** When the scan finished: start plus duration (the time the verification occurred). */
function timeVerifiedOf(report: AttestableReport): string {
  const start = Date.parse(report.startedAt);
  if (!Number.isFinite(start)) throw new AttestationError("bad-report", "the report's startedAt is not a timestamp");
  const duration = Number.isFinite(report.durationMs) && report.durationMs > 0 ? report.durationMs : 0;
  return new Date(start + Math.ceil(duration)).toISOString();
}

/**
 * Builds the statement for a report. Every file must have a full SHA-256 (scan with hashing on; a
 * remote scan with `--verify full`), and the report must list at least one file. A scan passes
 * when it is complete, has no errors and its verdict is no worse than `passThreshold`.
 * @param report - the scan report (as scanned, or parsed from its JSON)
 * @param options - pass threshold, verifier id, URIs
 * @throws AttestationError
 */
export function buildScanStatement(report: AttestableReport, options: ScanStatementOptions = {}): ScanStatement {
  const threshold = options.passThreshold ?? "clean";
  if (!isPassThreshold(threshold)) {
    throw new AttestationError("bad-report", `pass threshold must be clean or suspicious, not ${String(threshold)}`);
  }
  if (!isVerdict(report.verdict)) throw new AttestationError("bad-report", "the report has no valid verdict");
  if (report.files.length === 0) throw new AttestationError("no-files", "the report lists no file: nothing to attest");
  const unhashed = report.files.filter((f) => typeof f.sha256 !== "string" || !HEX64.test(f.sha256)).map((f) => f.path);
  if (unhashed.length > 0) {
    throw new AttestationError(
      "unhashed-files",
      `${unhashed.length} file(s) have no full SHA-256 and cannot be attested (scan with hashing on; remote targets with --verify full): ${unhashed.slice(0, 10).join(", ")}${unhashed.length > 10 ? ", ..." : ""}`,
      unhashed,
    );
  }
  const unsafe = report.files.filter((f) => !isSafeRelativePath(f.path) || f.path.includes("!")).map((f) => f.path);
  if (unsafe.length > 0) {
    throw new AttestationError(
      "unsafe-path",
      `file paths that are not safe relative paths: ${unsafe.join(", ")}`,
      unsafe,
    );
  }
  const seen = new Set<string>();
  for (const f of report.files) {
    if (seen.has(f.path)) throw new AttestationError("bad-report", `file ${f.path} is listed twice`, [f.path]);
    seen.add(f.path);
  }
  const resourceUri = options.resourceUri ?? resourceUriOf(report.target);
  if (resourceUri === undefined) {
    throw new AttestationError("no-resource-uri", `a ${report.target.kind} target has no URI: pass resourceUri`);
  }
  const policyHash = report.policy?.hash;
  if (policyHash === undefined || !HEX64.test(policyHash)) {
    throw new AttestationError("bad-report", "the report records no policy hash");
  }
  const complete = report.complete && report.errors.length === 0;
  const passed = complete && verdictWithin(report.verdict, threshold);
  const subject = report.files
    .map((f) => ({ name: f.path, digest: { sha256: f.sha256 as string } }))
    .sort((a, b) => compareCodePoints(a.name, b.name));
  // The OMS signature the scan verified is an input of the decision, only when it signs the whole
  // scanned model: verified, for the scanned directory itself (not a sub-model), and covering
  // every scanned file. A sub-model's signature, or one leaving files uncovered, vouches for less
  // than the attestation's subjects and is not listed.
  const inputs: { uri: string; digest: { sha256: string } }[] = [];
  const sig = report.signature;
  if (
    sig?.status === "verified" &&
    sig.signaturePath !== undefined &&
    sig.model === "." &&
    sig.coverage?.complete === true
  ) {
    const file = report.files.find((f) => f.path === sig.signaturePath);
    if (file?.sha256 !== undefined) inputs.push({ uri: file.path, digest: { sha256: file.sha256 } });
  }
  const suppressionsExpire = suppressionsExpireOf(report);
  const extension: ScanExtension = {
    verdict: report.verdict,
    passThreshold: threshold,
    complete,
    reportSha256: reportDigest(report),
    toolVersion: report.tool.version,
    byVerdict: Object.fromEntries(VERDICTS.map((v) => [v, report.summary.byVerdict[v] ?? 0])) as Record<
      Verdict,
      number
    >,
    findings: report.summary.findings,
    ...(suppressionsExpire === undefined ? {} : { suppressionsExpire }),
  };
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: { id: options.verifierId ?? DEFAULT_VERIFIER_ID, version: { modelgate: report.tool.version } },
      timeVerified: timeVerifiedOf(report),
      resourceUri,
      policy: { uri: options.policyUri ?? policyUriOf(report.policy?.source), digest: { sha256: policyHash } },
      ...(inputs.length > 0 ? { inputAttestations: inputs } : {}),
      verificationResult: passed ? "PASSED" : "FAILED",
      verifiedLevels: passed ? [report.verdict === "clean" ? LEVEL_CLEAN : LEVEL_SUSPICIOUS] : ["FAILED"],
      [SCAN_EXTENSION_KEY]: extension,
    },
  };
}

/** A statement that is not a well-formed modelgate scan attestation. */
export class StatementError extends ModelgateError {
  /**
   * @param message - what is wrong
   */
  constructor(message: string) {
    super("SIGNATURE", message);
    this.name = "StatementError";
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const fail = (message: string): never => {
  throw new StatementError(message);
};

/** RFC 3339 timestamp in UTC (`Z`), as in-toto requires. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** A URI: a scheme, then anything without whitespace or control characters. */
const URI_SHAPE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$/;
const URI = {
  test: (text: string): boolean =>
    URI_SHAPE.test(text) && ![...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
};

function sha256Of(digest: unknown, what: string): string {
  if (!isObject(digest) || typeof digest.sha256 !== "string" || !HEX64.test(digest.sha256)) {
    return fail(`${what} has no lowercase sha256 digest`);
  }
  return digest.sha256;
}

/**
 * Parses and checks a DSSE payload as a modelgate scan attestation: the in-toto Statement v1 and
 * VSA v1 fields, unique safe subject names with SHA-256 digests, and the extension's consistency
 * with the result (PASSED exactly when the scan was complete and its verdict within the recorded
 * threshold). Duplicate JSON keys are refused (two parsers could read different statements).
 * @param payloadType - DSSE payload type
 * @param payload - the payload bytes
 * @param maxSubjects - most subjects accepted
 * @throws StatementError
 */
export function parseScanStatement(
  payloadType: string,
  payload: Uint8Array,
  maxSubjects = DEFAULT_MAX_SUBJECTS,
): ScanStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    fail(`DSSE payload type is ${JSON.stringify(payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  let parsed: { value: unknown; duplicates: readonly unknown[] } | undefined;
  try {
    parsed = parsePlainJson(new TextDecoder("utf-8", { fatal: true }).decode(payload), STATEMENT_JSON);
  } catch {
    fail("DSSE payload is not JSON within the budgets (UTF-8, depth 16)");
  }
  if (parsed === undefined) return fail("DSSE payload is not JSON");
  if (parsed.duplicates.length > 0) fail("statement repeats a JSON key");
  const s = parsed.value;
  if (!isObject(s)) return fail("statement is not a JSON object");
  if (s._type !== STATEMENT_TYPE) fail(`statement type is not ${STATEMENT_TYPE}`);
  if (s.predicateType !== VSA_PREDICATE_TYPE) fail(`predicate type is not ${VSA_PREDICATE_TYPE}`);
  const subjectsRaw = s.subject;
  if (!Array.isArray(subjectsRaw) || subjectsRaw.length === 0) return fail("statement has no subject");
  if (subjectsRaw.length > maxSubjects) fail(`statement lists more than ${maxSubjects} subjects`);
  const names = new Set<string>();
  const subject: { name: string; digest: { sha256: string } }[] = [];
  for (const item of subjectsRaw as unknown[]) {
    if (!isObject(item) || typeof item.name !== "string") return fail("a subject has no name");
    const name = item.name;
    if (!isSafeRelativePath(name)) fail(`subject name ${JSON.stringify(name)} is not a safe relative path`);
    if (names.has(name)) fail(`subject ${JSON.stringify(name)} is listed twice`);
    names.add(name);
    subject.push({ name, digest: { sha256: sha256Of(item.digest, `subject ${JSON.stringify(name)}`) } });
  }
  const p = s.predicate;
  if (!isObject(p)) return fail("statement has no predicate");
  const verifier = p.verifier;
  if (!isObject(verifier) || typeof verifier.id !== "string" || !URI.test(verifier.id)) {
    return fail("predicate.verifier.id is not a URI");
  }
  let version: Record<string, string> | undefined;
  if (verifier.version !== undefined) {
    const v = verifier.version;
    if (!isObject(v) || !Object.values(v).every((x) => typeof x === "string"))
      fail("verifier.version is not a map of strings");
    version = v as Record<string, string>;
  }
  const timeVerified = p.timeVerified;
  if (typeof timeVerified !== "string" || !TIMESTAMP.test(timeVerified) || !Number.isFinite(Date.parse(timeVerified))) {
    return fail("predicate.timeVerified is not an RFC 3339 UTC timestamp");
  }
  const resourceUri = p.resourceUri;
  if (typeof resourceUri !== "string" || !URI.test(resourceUri)) return fail("predicate.resourceUri is not a URI");
  const policy = p.policy;
  if (!isObject(policy) || typeof policy.uri !== "string" || !URI.test(policy.uri)) {
    return fail("predicate.policy.uri is not a URI");
  }
  const policyDigest = sha256Of(policy.digest, "predicate.policy");
  let inputs: { uri: string; digest: { sha256: string } }[] | undefined;
  if (p.inputAttestations !== undefined) {
    if (!Array.isArray(p.inputAttestations) || p.inputAttestations.length > 1000) {
      fail("predicate.inputAttestations is not a list");
    }
    inputs = (p.inputAttestations as unknown[]).map((a, i) => {
      if (!isObject(a) || typeof a.uri !== "string") return fail(`input attestation ${i} has no uri`);
      return { uri: a.uri, digest: { sha256: sha256Of(a.digest, `input attestation ${i}`) } };
    });
  }
  const result = p.verificationResult;
  if (result !== "PASSED" && result !== "FAILED")
    return fail("predicate.verificationResult is neither PASSED nor FAILED");
  const levels = p.verifiedLevels;
  if (!Array.isArray(levels) || levels.length > 64 || !levels.every((l) => typeof l === "string")) {
    return fail("predicate.verifiedLevels is not a list of strings");
  }
  if ((result === "FAILED") !== levels.includes("FAILED"))
    fail("verifiedLevels does not agree with verificationResult");
  const ext = p[SCAN_EXTENSION_KEY];
  if (!isObject(ext)) return fail(`predicate has no ${SCAN_EXTENSION_KEY} extension`);
  const verdict = ext.verdict;
  if (!isVerdict(verdict)) return fail("extension verdict is not a verdict");
  const threshold = ext.passThreshold;
  if (!isPassThreshold(threshold)) return fail("extension passThreshold is not clean or suspicious");
  if (typeof ext.complete !== "boolean") return fail("extension complete is not a boolean");
  if (typeof ext.reportSha256 !== "string" || !HEX64.test(ext.reportSha256))
    fail("extension reportSha256 is not a SHA-256");
  if (typeof ext.toolVersion !== "string") fail("extension toolVersion is not a string");
  const byVerdictRaw = ext.byVerdict;
  if (!isObject(byVerdictRaw)) return fail("extension byVerdict is not an object");
  const byVerdict = {} as Record<Verdict, number>;
  for (const v of VERDICTS) {
    const n = byVerdictRaw[v];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      return fail(`extension byVerdict.${v} is not a count`);
    byVerdict[v] = n;
  }
  if (typeof ext.findings !== "number" || !Number.isSafeInteger(ext.findings) || ext.findings < 0) {
    fail("extension findings is not a count");
  }
  if (ext.suppressionsExpire !== undefined && !isCalendarDate(ext.suppressionsExpire)) {
    fail("extension suppressionsExpire is not a date (YYYY-MM-DD)");
  }
  const passes = ext.complete === true && verdictWithin(verdict, threshold);
  if ((result === "PASSED") !== passes) {
    fail(
      `verificationResult ${result} contradicts verdict ${verdict} (threshold ${threshold}, complete ${String(ext.complete)})`,
    );
  }
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: { id: verifier.id, ...(version === undefined ? {} : { version }) },
      timeVerified,
      resourceUri,
      policy: { uri: policy.uri, digest: { sha256: policyDigest } },
      ...(inputs === undefined ? {} : { inputAttestations: inputs }),
      verificationResult: result,
      verifiedLevels: levels as string[],
      [SCAN_EXTENSION_KEY]: {
        verdict,
        passThreshold: threshold,
        complete: ext.complete,
        reportSha256: ext.reportSha256 as string,
        toolVersion: ext.toolVersion as string,
        byVerdict,
        findings: ext.findings as number,
        ...(ext.suppressionsExpire === undefined ? {} : { suppressionsExpire: ext.suppressionsExpire as string }),
      },
    },
  };
}
