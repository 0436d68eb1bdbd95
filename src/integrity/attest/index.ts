/**
 * Scan attestations: what a scan decided, signed (an in-toto statement with a SLSA verification
 * summary predicate, in a DSSE envelope inside a Sigstore bundle), and verified against the files.
 * @module
 */
export { type AttestOptions, type AttestResult, attest } from "./sign.js";
export {
  type AttestableFile,
  type AttestableReport,
  AttestationError,
  type AttestationErrorReason,
  buildScanStatement,
  canonicalJson,
  DEFAULT_VERIFIER_ID,
  LEVEL_CLEAN,
  LEVEL_SUSPICIOUS,
  type PassThreshold,
  parseScanStatement,
  reportDigest,
  SCAN_EXTENSION_KEY,
  type ScanExtension,
  type ScanStatement,
  type ScanStatementOptions,
  StatementError,
  VSA_PREDICATE_TYPE,
} from "./statement.js";
export {
  ATTESTATION_STAGES,
  type AttestationRequirement,
  type AttestationStage,
  type AttestationTarget,
  type AttestationVerification,
  type AttestedFile,
  MAX_ATTESTATION_BYTES,
  parseDuration,
  type VerifyAttestationOptions,
  verifyAttestation,
} from "./verify.js";
