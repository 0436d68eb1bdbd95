/**
 * The report's types, as named interfaces. They describe exactly what the zod schemas of
 * `schema.ts` accept and produce (a type test checks that each interface and its schema's
 * `z.infer` are the same type), so an editor shows `Finding` rather than its expansion.
 *
 * Optional fields are typed `T | undefined` because that is what a schema's `parse` may return;
 * reports made by `scan` leave absent fields out.
 * @module
 */
import type { Evidence, RuleId } from "../core/findings.js";
import type { Format } from "../core/formats.js";
import type { FileIntegrity, Target } from "../core/root.js";
import type { Severity, Verdict } from "../core/severity.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import type { REPORT_SCHEMA_VERSION } from "./schema.js";

export type {
  FileIntegrity,
  HttpTargetInfo,
  HubTargetInfo,
  OciTargetInfo,
  S3TargetInfo,
  Target,
} from "../core/root.js";

/** One thing the scanner found in a file or member. */
export interface Finding {
  /**
   * The rule that produced it (see docs/rules.md). A report written by another version of
   * modelgate may name a rule this version does not know.
   */
  ruleId: RuleId;
  /** How bad it is, after the policy's severity overrides. */
  severity: Severity;
  /** What was found, specifically (input text is not escaped: print it through `escapeForTerminal`). */
  message: string;
  /** The file or container member it is about (`outer.pt!archive/data.pkl`). */
  path: string;
  /** Byte offset within {@link Finding.path}, when meaningful. */
  offset?: number | undefined;
  /** Structured evidence: opcode, resolved callee, argument preview, names, offsets. */
  evidence?: Evidence | undefined;
  /** CVE or advisory identifiers. */
  cve?: string[] | undefined;
}

/** A policy suppression as recorded in a report (see the policy guide). */
export interface SuppressionRecord {
  /** Rule id, or every rule of an area (`area/*`). */
  rule: string;
  /** Path glob. */
  path: string;
  /** Why the finding is accepted. */
  reason: string;
  /** Last day (UTC, `YYYY-MM-DD`) the suppression applies. */
  expires?: string | undefined;
}

/** A finding a policy suppression matched: it counts toward no verdict, summary or exit code. */
export interface SuppressedFinding extends Finding {
  /** The suppression that matched. */
  suppression: SuppressionRecord;
}

/** A member of a container file that was analysed (zip/tar member, decompressed stream, embedded payload). */
export interface MemberReport {
  /** `outer!inner` path. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Format recognised by content. */
  format: Format;
  /** The member's verdict. */
  verdict: Verdict;
}

/** Digests computed for a file (lowercase hex). */
export interface Hashes {
  /** SHA-256. */
  sha256?: string | undefined;
  /** BLAKE2b-512. */
  blake2b?: string | undefined;
  /** BLAKE3 (256 bits). */
  blake3?: string | undefined;
}

/** The result for one file. */
export interface FileReport {
  /** POSIX path relative to the scanned directory (the file's name for a single file). */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Primary format, recognised by content (the extension is only a hint). */
  format: Format;
  /** Every format detected (more than one for polyglots). */
  formats: Format[];
  /** SHA-256 of the file's bytes (lowercase hex), unless hashing was turned off. */
  sha256?: string | undefined;
  /** Further digests (BLAKE2b, BLAKE3), for example from a signature verification. */
  hashes?: Hashes | undefined;
  /** The worst verdict of the file's findings and members. */
  verdict: Verdict;
  /** What was found. */
  findings: Finding[];
  /** Findings a policy suppression matched; not counted in the verdict, summary or exit code. */
  suppressed?: SuppressedFinding[] | undefined;
  /** Container members that were analysed. */
  members?: MemberReport[] | undefined;
  /** What the file reveals about the model (architecture, tensor counts, dtypes ...; see docs/architecture.md). */
  facts?: Record<string, unknown> | undefined;
  /** Integrity of a file read from a remote source (Hugging Face Hub). */
  integrity?: FileIntegrity | undefined;
  /** True when this result came from the verdict cache (the file was not read in this scan). */
  cached?: boolean | undefined;
}

/** A problem that kept the scanner from finishing part of its work. */
export interface ScanError {
  /** Error code (`TIMEOUT`, `IO`, `BUDGET_EXCEEDED` ...). */
  code: string;
  /** What went wrong. */
  message: string;
  /** The file concerned, if any. */
  path?: string | undefined;
}

/** A suppression of the policy and what it did during the scan. */
export interface SuppressionStatus extends SuppressionRecord {
  /** Expired suppressions no longer apply. */
  status: "active" | "expired";
  /** Findings matched (for expired ones: that it would have matched). */
  matched: number;
}

/** The policy a scan ran under. */
export interface PolicyReport {
  /** SHA-256 of the policy's canonical JSON (its source excluded). */
  hash: string;
  /** Where the policy came from (a policy file path). */
  source?: string | undefined;
  /** Each suppression with its status and match count. */
  suppressions?: SuppressionStatus[] | undefined;
}

/** Counts over the whole report. */
export interface Summary {
  /** Files scanned. */
  files: number;
  /** Findings (suppressed ones excluded). */
  findings: number;
  /** Files per verdict. */
  byVerdict: Record<Verdict, number>;
  /** Findings per severity. */
  bySeverity: Record<Severity, number>;
  /** Bytes the analyzers read (hashing excluded). */
  bytesRead: number;
}

/** A listed file the scan left out on purpose (`include`/`exclude`): not analysed, never called clean. */
export interface SkippedFile {
  /** POSIX path relative to the scan root. */
  path: string;
  /** `excluded`: it matched an `exclude` glob; `not-included`: it matched no `include` glob. */
  reason: "excluded" | "not-included";
  /** Its size as listed, in bytes. */
  size: number;
}

/** A scan report: what `scan` resolves with, and what `--format json` prints. */
export interface ScanReport {
  /** Version of the report format (additive changes bump the minor version). */
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  /** The tool that wrote the report. */
  tool: {
    /** Always `modelgate`. */
    name: "modelgate";
    /** Its version. */
    version: string;
  };
  /** What was scanned. */
  target: Target;
  /** When the scan started (ISO 8601). */
  startedAt: string;
  /** How long it took, in milliseconds. */
  durationMs: number;
  /** Worst verdict of all files: `clean` < `suspicious` < `invalid` < `malicious`. */
  verdict: Verdict;
  /** False when the scan was aborted or some file could not be scanned. */
  complete: boolean;
  /** Per-file results. */
  files: FileReport[];
  /** Problems that kept the scanner from finishing part of its work. */
  errors: ScanError[];
  /**
   * Files left out by `include`/`exclude` (present when either was given): not analysed and not in
   * {@link ScanReport.files}, unless a repository check (lock file, signature) found a problem with
   * one. Lock-file and signature checks still cover them.
   */
  skipped?: SkippedFile[] | undefined;
  /** OpenSSF Model Signing verification of the scanned directory (absent when signatures were not looked for). */
  signature?: SignatureVerification | undefined;
  /** Counts over the report. */
  summary: Summary;
  /** The policy in force. */
  policy?: PolicyReport | undefined;
}
