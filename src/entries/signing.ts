/**
 * `modelgate/signing`: OpenSSF Model Signing (sign, verify, the verification result, Sigstore
 * trust roots), scan attestations (`attest`, `verifyAttestation`) and lock files (the pinned
 * digests of a model tree, `modelgate lock`).
 * `modelgate` exports `signModel`, `verifyModel` and `verifyAttestation` (loaded on first call);
 * `attest` is synchronous and loads Sigstore's bundle code, so it is exported here only.
 * @module
 */
export {
  type AttestableReport,
  AttestationError,
  type AttestationStage,
  type AttestationTarget,
  type AttestationVerification,
  type AttestedFile,
  type AttestOptions,
  type AttestResult,
  attest,
  DEFAULT_VERIFIER_ID,
  type PassThreshold,
  SCAN_EXTENSION_KEY,
  type ScanExtension,
  type ScanStatement,
  type VerifyAttestationOptions,
  VSA_PREDICATE_TYPE,
  verifyAttestation,
} from "../integrity/attest/index.js";
export type { ByteRange, Digests, HashAlgorithm, RangeDigests } from "../integrity/hash/core.js";
export { type HashJob, HashPool, type HashPoolOptions } from "../integrity/hash/pool.js";
export type { CertificatePolicy } from "../integrity/oms/certificate.js";
export { type BundleSigner, type BundleSignerOptions, createBundleSigner } from "../integrity/oms/dsse.js";
export { type SignatureVerification, SignatureVerificationSchema } from "../integrity/oms/result.js";
export { type SignOptions, type SignResult, signModel } from "../integrity/oms/sign.js";
export {
  PUBLIC_GOOD_TRUSTED_ROOT_INFO,
  type RefreshTrustedRootOptions,
  refreshTrustedRoot,
} from "../integrity/oms/trusted-root.js";
export {
  DEFAULT_SIGNATURE_NAME,
  type ScanSignatureOptions,
  type VerifyOptions,
  verifyModel,
} from "../integrity/oms/verify.js";
export {
  type CreateLockOptions,
  createLockFile,
  formatLockFile,
  LOCK_FILE_NAME,
  type LockFile,
  LockFileSchema,
  MAX_LOCK_FILE_BYTES,
  parseLockFile,
  readLockFile,
  writeLockFile,
} from "../integrity/pins/lock.js";

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
