/**
 * The scan report schema. These zod schemas validate reports and are the source of the published
 * JSON Schema (`schema/report-v1.schema.json`, generated at build); the report's TypeScript types
 * are the named interfaces of `types.ts`, which a type test keeps equal to the schemas' `z.infer`.
 * @module
 */
import { z } from "zod";
import type { RuleId } from "../core/findings.js";
import { SEVERITIES, VERDICTS } from "../core/severity.js";
import { SignatureVerificationSchema } from "../integrity/oms/result.js";
import { FORMATS } from "../registry/catalog.js";
import { REPORT_SCHEMA_VERSION } from "./version.js";

export type { Evidence } from "../core/findings.js";
export type { Format } from "../core/formats.js";
export { SEVERITIES, type Severity, VERDICTS, type Verdict } from "../core/severity.js";
export { FORMATS } from "../registry/catalog.js";
export { REPORT_SCHEMA_VERSION } from "./version.js";

/** How bad a single finding is. */
export const SeveritySchema = z.enum(SEVERITIES).describe("How bad a finding is.");
/** The outcome for a file, a member or a whole scan. */
export const VerdictSchema = z
  .enum(VERDICTS)
  .describe(
    "clean < suspicious < invalid < malicious. invalid: the scanner could not parse the input safely; never reported as clean.",
  );
/** A recognised format. */
export const FormatSchema = z.enum(FORMATS).describe("Format recognised by content (the extension is only a hint).");

/** Scalar values shown as evidence. */
export const EvidenceValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** Structured evidence of a finding: opcode, callee, argument preview, offsets, names... */
export const EvidenceSchema = z
  .record(z.string(), EvidenceValueSchema)
  .describe("Structured evidence: opcode, resolved callee, argument preview, names, offsets.");

/** One thing the scanner found. */
export const FindingSchema = z
  .object({
    // Typed as the registered ids (what scans produce); the value is validated as a string.
    ruleId: z.string().min(1).describe("Stable rule identifier (see docs/rules.md).") as z.ZodType<RuleId, string>,
    severity: SeveritySchema,
    message: z.string(),
    path: z.string().describe("File or container member the finding is about (outer.pt!archive/data.pkl)."),
    offset: z.int().nonnegative().optional().describe("Byte offset within `path`, when meaningful."),
    evidence: EvidenceSchema.optional(),
    cve: z.array(z.string()).optional().describe("CVE or advisory identifiers."),
  })
  .describe("A finding.");

/** A policy suppression (see the policy guide). */
export const SuppressionSchema = z.object({
  rule: z.string().describe("Rule id, or `area/*`."),
  path: z.string().describe("Path glob."),
  reason: z.string().describe("Why the finding is accepted."),
  expires: z.iso.date().optional().describe("Last day (UTC) the suppression applies."),
});

/** A finding a policy suppression matched: it does not count toward verdicts or exit codes. */
export const SuppressedFindingSchema = FindingSchema.extend({
  suppression: SuppressionSchema.describe("The suppression that matched."),
}).describe("A suppressed finding.");

/** A member of a container file (zip/tar member, decompressed stream, embedded payload). */
export const MemberReportSchema = z.object({
  path: z.string(),
  size: z.int().nonnegative(),
  format: FormatSchema,
  verdict: VerdictSchema,
});

/** Extra digests computed for a file. */
export const HashesSchema = z
  .object({
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    blake2b: z
      .string()
      .regex(/^[0-9a-f]{128}$/)
      .optional(),
    blake3: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .describe("Digests computed for the file (lowercase hex).");

/** How far a remote file's bytes were checked against the digest its source pins. */
export const FileIntegritySchema = z
  .object({
    status: z
      .enum(["verified", "partial", "mismatch"])
      .describe(
        "verified: the whole file was read and matched the pinned digest; partial: only the bytes the analyzers needed were read, so the digest was not checked; mismatch: the served bytes contradict the pinned digest, size or headers.",
      ),
    algorithm: z.enum(["sha256", "git-blob-sha1"]).describe("How the pinned digest is computed."),
    expected: z.string().describe("The pinned digest (lowercase hex)."),
    actual: z.string().optional().describe("The digest of the bytes served, when they were all read."),
    bytesFetched: z.int().nonnegative().describe("Bytes of this file transferred over the network."),
  })
  .describe("Integrity of a file read from a remote source (Hugging Face Hub).");

/** Per-file result. */
export const FileReportSchema = z.object({
  path: z.string().describe("POSIX path relative to the scanned directory (the file's name for a single file)."),
  size: z.int().nonnegative(),
  format: FormatSchema.describe("Primary format."),
  formats: z.array(FormatSchema).describe("Every format detected (more than one for polyglots)."),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  hashes: HashesSchema.optional(),
  verdict: VerdictSchema,
  findings: z.array(FindingSchema),
  suppressed: z
    .array(SuppressedFindingSchema)
    .optional()
    .describe("Findings a policy suppression matched; not counted in the verdict, summary or exit code."),
  members: z.array(MemberReportSchema).optional().describe("Container members that were analysed."),
  facts: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("What the file reveals about the model (architecture, tensor counts, dtypes...)."),
  integrity: FileIntegritySchema.optional(),
  cached: z
    .boolean()
    .optional()
    .describe("True when this result came from the verdict cache (the file was not read in this scan)."),
});

/** A problem that kept the scanner from finishing part of its work. */
export const ScanErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  path: z.string().optional(),
});

/** A listed file the scan left out on purpose (`include`/`exclude`). */
export const SkippedFileSchema = z
  .object({
    path: z.string().describe("POSIX path relative to the scan root."),
    reason: z
      .enum(["excluded", "not-included"])
      .describe("excluded: it matched an exclude glob; not-included: it matched no include glob."),
    size: z.int().nonnegative().describe("Its size as listed, in bytes."),
  })
  .describe("A file not analysed because of include/exclude; never counted as clean.");

/** What was scanned. */
export const TargetSchema = z.object({
  kind: z.enum(["file", "directory", "bytes", "source", "hub", "url", "s3", "oci"]),
  name: z.string(),
  hub: z
    .object({
      repo: z.string().describe("owner/name for a model, datasets/owner/name or spaces/owner/name otherwise."),
      repoType: z
        .enum(["model", "dataset", "space"])
        .optional()
        .describe("The repository's type (absent in reports of earlier versions: a model)."),
      revision: z.string(),
      commit: z.string().regex(/^[0-9a-f]{40}$/),
      paths: z.array(z.string()).optional().describe("Paths the scan was restricted to."),
      requests: z.int().nonnegative().optional().describe("HTTP requests sent (retries included)."),
      bytesTransferred: z.int().nonnegative().optional().describe("Response body bytes received, listings included."),
      securityStatus: z
        .record(z.string(), z.unknown())
        .optional()
        .describe("The Hub's own scan status for the repository, for information only: it never clears a file."),
    })
    .optional(),
  http: z
    .object({
      url: z.string().describe("The URL, without user info, fragment or credential-like query values."),
      etag: z.string().optional().describe("The strong ETag every read was checked against."),
      lastModified: z.string().optional().describe("The Last-Modified date every read was checked against."),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional()
        .describe("The pinned SHA-256 (#sha256=, sha256 or pins); files[].integrity says whether it held."),
      requests: z.int().nonnegative().optional().describe("HTTP requests sent (retries and redirects included)."),
      bytesTransferred: z.int().nonnegative().optional().describe("Response body bytes received."),
    })
    .optional()
    .describe("The URL, for an https:// target."),
  s3: z
    .object({
      bucket: z.string(),
      prefix: z.string().describe("The key prefix listed (empty for the whole bucket)."),
      versionIds: z
        .record(z.string(), z.string())
        .optional()
        .describe("Version id of each object read, by path, when the bucket is versioned."),
      requests: z.int().nonnegative().optional().describe("S3 requests sent (listing pages included)."),
      bytesTransferred: z.int().nonnegative().optional().describe("Object bytes received."),
    })
    .optional()
    .describe("The bucket and prefix, for an s3:// target."),
  oci: z
    .object({
      registry: z.string().describe("host[:port] of the registry (empty for an image layout)."),
      repository: z.string().describe("Repository path (empty for an image layout)."),
      reference: z.string().describe("The tag or digest asked for (for a layout: its ref.name, or empty)."),
      digest: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/)
        .describe("The digest the reference resolved to: every read was pinned to it."),
      mediaType: z.string().describe("Media type of that manifest or index."),
      manifestDigest: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/)
        .optional()
        .describe("The manifest scanned, when the reference resolved to an index."),
      platform: z
        .string()
        .optional()
        .describe("Platform of that manifest in the index (linux/amd64), when it has one."),
      artifactType: z
        .string()
        .optional()
        .describe("The manifest's artifactType (or, for older artifacts, its config media type)."),
      manifests: z
        .array(
          z.object({
            digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
            mediaType: z.string(),
            path: z.string().describe("The report folder its files are under (linux-amd64, sha256-<hex>)."),
            platform: z.string().optional().describe("os/arch[/variant] of its index entry, when it has one."),
            artifactType: z.string().optional(),
          }),
        )
        .optional()
        .describe("Every manifest scanned, when the reference resolved to an index."),
      layout: z.string().optional().describe("The image-layout directory, for a layout."),
      requests: z
        .int()
        .nonnegative()
        .optional()
        .describe("HTTP requests sent (token requests, retries and redirects included)."),
      bytesTransferred: z.int().nonnegative().optional().describe("Response body bytes received."),
    })
    .optional()
    .describe("The artifact and the digest it resolved to, for an oci:// or oci-layout: target."),
});

const countsOf = <T extends readonly [string, ...string[]]>(keys: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.int().nonnegative()])) as Record<T[number], z.ZodInt>);

/** The policy a scan ran under. */
export const PolicyReportSchema = z
  .object({
    hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .describe("SHA-256 of the policy's canonical JSON (its source excluded)."),
    source: z.string().optional().describe("Where the policy came from (a policy file path)."),
    suppressions: z
      .array(
        SuppressionSchema.extend({
          status: z.enum(["active", "expired"]).describe("Expired suppressions no longer apply."),
          matched: z.int().nonnegative().describe("Findings matched (for expired ones: that it would have matched)."),
        }),
      )
      .optional(),
  })
  .describe("The policy in force.");

/** Counts over the whole report. */
export const SummarySchema = z.object({
  files: z.int().nonnegative(),
  findings: z.int().nonnegative(),
  byVerdict: countsOf(VERDICTS),
  bySeverity: countsOf(SEVERITIES),
  bytesRead: z.int().nonnegative().describe("Bytes the analyzers read (hashing excluded)."),
});

/** The whole scan report. */
export const ScanReportSchema = z
  .object({
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
    tool: z.object({ name: z.literal("modelgate"), version: z.string() }),
    target: TargetSchema,
    startedAt: z.iso.datetime(),
    durationMs: z.number().nonnegative(),
    verdict: VerdictSchema,
    complete: z.boolean().describe("False when the scan was aborted or some file could not be scanned."),
    files: z.array(FileReportSchema),
    errors: z.array(ScanErrorSchema),
    skipped: z
      .array(SkippedFileSchema)
      .optional()
      .describe(
        "Files left out by include/exclude (present when either was given): not analysed and not in files unless a lock-file or signature check found a problem with one; those checks still cover them.",
      ),
    signature: SignatureVerificationSchema.optional().describe(
      "OpenSSF Model Signing verification of the scanned directory (absent when signatures were not looked for).",
    ),
    summary: SummarySchema,
    policy: PolicyReportSchema.optional(),
  })
  .describe("modelgate scan report");

export type {
  FileIntegrity,
  FileReport,
  Finding,
  Hashes,
  HttpTargetInfo,
  HubTargetInfo,
  MemberReport,
  OciTargetInfo,
  PolicyReport,
  S3TargetInfo,
  ScanError,
  ScanReport,
  SkippedFile,
  Summary,
  SuppressedFinding,
  SuppressionRecord,
  SuppressionStatus,
  Target,
} from "./types.js";

/**
 * The report's JSON Schema (2020-12), generated from the zod schemas.
 */
export function reportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScanReportSchema, { target: "draft-2020-12", io: "output" }) as Record<string, unknown>;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/modelgate/modelgate/schema/report-v1.schema.json",
    title: "modelgate scan report",
    ...schema,
  };
}
