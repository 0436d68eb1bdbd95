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
import type { Severity, Verdict } from "../core/severity.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import type { REPORT_SCHEMA_VERSION } from "./schema.js";

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

/** How far a remote file's bytes were checked against the digest its source pins. */
export interface FileIntegrity {
  /**
   * `verified`: the whole file was read and matched the pinned digest; `partial`: only the bytes
   * the analyzers needed were read, so the digest was not checked; `mismatch`: the served bytes
   * contradict the pinned digest, size or headers.
   */
  status: "verified" | "partial" | "mismatch";
  /** How the pinned digest is computed. */
  algorithm: "sha256" | "git-blob-sha1";
  /** The pinned digest (lowercase hex). */
  expected: string;
  /** The digest of the bytes served, when they were all read. */
  actual?: string | undefined;
  /** Bytes of this file transferred over the network. */
  bytesFetched: number;
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

/** The Hugging Face Hub repository a scan read. */
export interface HubTargetInfo {
  /** `owner/name` for a model, `datasets/owner/name` or `spaces/owner/name` otherwise. */
  repo: string;
  /** The repository's type (absent in reports of earlier versions: a model). */
  repoType?: "model" | "dataset" | "space" | undefined;
  /** The revision asked for (branch, tag or commit). */
  revision: string;
  /** The commit it resolved to, which every read was pinned to. */
  commit: string;
  /** Paths the scan was restricted to. */
  paths?: string[] | undefined;
  /** HTTP requests sent (retries included). */
  requests?: number | undefined;
  /** Response body bytes received, listings included. */
  bytesTransferred?: number | undefined;
  /** The Hub's own scan status for the repository, for information only: it never clears a file. */
  securityStatus?: Record<string, unknown> | undefined;
}

/** The URL an `https://` target read. */
export interface HttpTargetInfo {
  /** The URL, without user info, fragment or credential-like query values. */
  url: string;
  /** The strong ETag every read was checked against. */
  etag?: string | undefined;
  /** The Last-Modified date every read was checked against. */
  lastModified?: string | undefined;
  /** The pinned SHA-256 (`#sha256=`, `sha256` or `pins`); `files[].integrity` says whether it held. */
  sha256?: string | undefined;
  /** HTTP requests sent (retries and redirects included). */
  requests?: number | undefined;
  /** Response body bytes received. */
  bytesTransferred?: number | undefined;
}

/** The S3 bucket and prefix an `s3://` target read. */
export interface S3TargetInfo {
  /** Bucket name. */
  bucket: string;
  /** The key prefix listed (empty for the whole bucket). */
  prefix: string;
  /** Version id of each object read, by path, when the bucket is versioned. */
  versionIds?: Record<string, string> | undefined;
  /** S3 requests sent (listing pages included). */
  requests?: number | undefined;
  /** Object bytes received. */
  bytesTransferred?: number | undefined;
}

/** The OCI artifact an `oci://` (or `oci-layout:`) target read. */
export interface OciTargetInfo {
  /** `host[:port]` of the registry (empty for an image layout). */
  registry: string;
  /** Repository path (empty for an image layout). */
  repository: string;
  /** The tag or digest asked for (for a layout: its `ref.name`, or empty). */
  reference: string;
  /** The digest the reference resolved to: every read was pinned to it. */
  digest: string;
  /** Media type of that manifest or index. */
  mediaType: string;
  /** The manifest scanned, when the reference resolved to an index. */
  manifestDigest?: string | undefined;
  /** Platform of that manifest in the index (`linux/amd64`), when it has one. */
  platform?: string | undefined;
  /** The manifest's `artifactType` (or, for older artifacts, its config media type). */
  artifactType?: string | undefined;
  /** The image-layout directory, for a layout. */
  layout?: string | undefined;
  /** HTTP requests sent (token requests, retries and redirects included). */
  requests?: number | undefined;
  /** Response body bytes received. */
  bytesTransferred?: number | undefined;
}

/** What was scanned. */
export interface Target {
  /** The kind of target `scan` was given. */
  kind: "file" | "directory" | "bytes" | "source" | "hub" | "url" | "s3" | "oci";
  /** Its path, name or URI. */
  name: string;
  /** The repository, for a Hub target. */
  hub?: HubTargetInfo | undefined;
  /** The URL, for an `https://` target. */
  http?: HttpTargetInfo | undefined;
  /** The bucket and prefix, for an `s3://` target. */
  s3?: S3TargetInfo | undefined;
  /** The artifact and the digest it resolved to, for an `oci://` or `oci-layout:` target. */
  oci?: OciTargetInfo | undefined;
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
  /** OpenSSF Model Signing verification of the scanned directory (absent when signatures were not looked for). */
  signature?: SignatureVerification | undefined;
  /** Counts over the report. */
  summary: Summary;
  /** The policy in force. */
  policy?: PolicyReport | undefined;
}
