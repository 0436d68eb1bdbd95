/**
 * The typed outcome of verifying an OpenSSF Model Signing (OMS) signature. The zod schema is the
 * single source of the type and is embedded in the scan report (`signature`).
 * @module
 */
import { z } from "zod";

/** Verification stages, in the order they run; the first failure is fatal. */
export const VERIFICATION_STAGES = ["parse", "signature", "policy", "statement", "manifest"] as const;

/** Signing methods OMS defines, chosen by the bundle's verification material. */
export const SIGNING_METHODS = ["key", "certificate", "sigstore"] as const;

/** Per-file outcomes. */
export const FILE_STATUSES = ["ok", "mismatch", "missing", "extra", "unsigned"] as const;

/** One file of the model, compared with the signed manifest. */
export const SignedFileResultSchema = z
  .object({
    path: z.string().describe("POSIX path relative to the model root (the resource name, without shard ranges)."),
    status: z
      .enum(FILE_STATUSES)
      .describe(
        "ok: digest matches; mismatch: other bytes (or, for shards, another size); missing: signed but absent; extra: present but not signed (fails); unsigned: present, not signed, tolerated by ignoreUnsignedFiles.",
      ),
    algorithm: z.string().optional().describe("Digest algorithm of the signed resource."),
    expected: z.string().optional().describe("Signed digest (first differing shard for sharded files)."),
    actual: z.string().optional().describe("Digest of the local bytes."),
    shards: z.int().nonnegative().optional().describe("Number of signed shards of this file (shards serialization)."),
    reason: z.string().optional().describe("Why the file failed when it is not a digest difference."),
  })
  .describe("A file compared with the signed manifest.");

/** Who or what signed. */
export const SignerSchema = z
  .object({
    identity: z.string().optional().describe("Sigstore certificate identity (SAN: email or URI)."),
    issuer: z.string().optional().describe("OIDC issuer recorded in the Sigstore certificate."),
    keyFingerprint: z
      .string()
      .optional()
      .describe("SHA-256 (hex) of the verifying public key's DER SubjectPublicKeyInfo."),
    keyHint: z.string().optional().describe("The bundle's publicKey.hint (SHA-256 of the key's PEM text)."),
    certificateSubject: z.string().optional().describe("Subject of the leaf certificate (certificate method)."),
    certificateIssuer: z.string().optional().describe("Issuer of the leaf certificate (certificate method)."),
    certificateFingerprint: z.string().optional().describe("SHA-256 (hex) of the leaf certificate's DER."),
    subjectAlternativeNames: z.array(z.string()).optional().describe("SAN entries of the leaf certificate."),
    anchor: z.string().optional().describe("Subject of the trust anchor the chain ended at (certificate method)."),
    signedAt: z.iso.datetime().optional().describe("Transparency-log integration time (sigstore method)."),
  })
  .describe("The signer, as far as the method reveals it.");

/** How the model was serialized for signing. */
export const SerializationSchema = z.object({
  method: z.enum(["files", "shards"]),
  hashType: z.string(),
  allowSymlinks: z.boolean(),
  shardSize: z.int().positive().optional(),
  ignorePaths: z.array(z.string()).describe("Ignore paths recorded in the signature."),
});

/** One signature found in a scanned directory, and the model root it covers. */
export const CoveringSignatureSchema = z
  .object({
    signaturePath: z.string().describe("The signature file, relative to the scanned directory."),
    model: z.string().describe("The model root it verifies, relative to the scanned directory ('.' for itself)."),
    status: z.enum(["verified", "failed", "unsigned", "unverified"]).describe("Its verification status."),
    covered: z
      .int()
      .nonnegative()
      .describe(
        "Files of the scan it covers: listed in its manifest with a matching digest, counted only when it verified (and its signer satisfies the policy).",
      ),
  })
  .describe("A signature found in the scanned directory.");

/** How much of a scanned directory the verified signatures cover (scan reports only). */
export const SignatureCoverageSchema = z
  .object({
    complete: z
      .boolean()
      .describe(
        "Every scanned file is covered by a verified signature whose model root contains it and whose manifest lists it with a matching digest (signature files, the scan's own lock and policy files, OMS's default ignores .git, .gitattributes, .github, .gitignore at a model root, and the caller's ignore paths excepted). A signature requirement holds only when this is true.",
      ),
    uncoveredCount: z.int().nonnegative().describe("Scanned files no verified signature covers."),
    uncovered: z.array(z.string()).describe("The first of them (at most 100), relative to the scanned directory."),
    signatures: z.array(CoveringSignatureSchema).describe("Every signature verified, with the model root it covers."),
  })
  .describe("Coverage of the scanned directory by verified signatures.");

/** The outcome of verifying a model's OMS signature. */
export const SignatureVerificationSchema = z
  .object({
    status: z
      .enum(["verified", "failed", "unsigned", "unverified"])
      .describe(
        "verified: signer trusted and every file matches; failed: some stage rejected; unsigned: no signature found; unverified: a signature was found and its manifest checked, but no trust material was supplied to check the signer.",
      ),
    signaturePath: z
      .string()
      .optional()
      .describe("The signature file (relative to the scanned directory in scan reports)."),
    model: z
      .string()
      .optional()
      .describe(
        "In scan reports: the model root the signature covers, relative to the scanned directory ('.' for itself).",
      ),
    method: z.enum(SIGNING_METHODS).optional(),
    failedStage: z.enum(VERIFICATION_STAGES).optional().describe("The first stage that rejected."),
    errors: z.array(z.string()).describe("Why verification failed (empty otherwise)."),
    warnings: z.array(z.string()).describe("Legacy formats and other accepted oddities."),
    signer: SignerSchema.optional(),
    predicateType: z.string().optional(),
    subjectName: z.string().optional().describe("The statement's subject name (informational only)."),
    rootDigest: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional()
      .describe("SHA-256 root digest of the manifest."),
    serialization: SerializationSchema.optional(),
    files: z.array(SignedFileResultSchema).describe("Per-file comparison (empty when a stage before manifest failed)."),
    coverage: SignatureCoverageSchema.optional().describe(
      "In scan reports: how much of the scanned directory verified signatures cover, and which root each signature covers. A signature of a sub-folder never covers the rest of the tree.",
    ),
  })
  .describe("OpenSSF Model Signing verification result.");

/** A verification stage. */
export type VerificationStage = (typeof VERIFICATION_STAGES)[number];
/** A signing method. */
export type SigningMethod = (typeof SIGNING_METHODS)[number];
/** One file compared with the signed manifest. */
export type SignedFileResult = z.infer<typeof SignedFileResultSchema>;
/** The signer. */
export type SignerInfo = z.infer<typeof SignerSchema>;
/** Serialization parameters of a signature. */
export type SerializationInfo = z.infer<typeof SerializationSchema>;
/** The outcome of verifying a model's OMS signature. */
export type SignatureVerification = z.infer<typeof SignatureVerificationSchema>;
/** Coverage of a scanned directory by verified signatures. */
export type SignatureCoverage = z.infer<typeof SignatureCoverageSchema>;
/** A signature found in a scanned directory. */
export type CoveringSignature = z.infer<typeof CoveringSignatureSchema>;
