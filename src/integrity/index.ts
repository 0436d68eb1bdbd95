/**
 * Integrity: streaming hashes on a worker pool, pinned digests and lock files, and OpenSSF Model
 * Signing verification and signing.
 * @module
 */

export * from "./attest/index.js";
export {
  type ByteRange,
  createHasher,
  DEFAULT_CHUNK_SIZE,
  type Digests,
  HASH_ALGORITHMS,
  type HashAlgorithm,
  type Hasher,
  hashBytes,
  type RangeDigests,
} from "./hash/core.js";
export { defaultHashPool, type HashJob, HashPool, type HashPoolOptions, hashFile } from "./hash/pool.js";
export { OmsError, type ParsedBundle, parseBundle } from "./oms/bundle.js";
export type { CertificatePolicy } from "./oms/certificate.js";
export { type BundleSigner, type BundleSignerOptions, createBundleSigner } from "./oms/dsse.js";
export {
  type CoveringSignature,
  CoveringSignatureSchema,
  FILE_STATUSES,
  type SerializationInfo,
  SerializationSchema,
  SIGNING_METHODS,
  type SignatureCoverage,
  SignatureCoverageSchema,
  type SignatureVerification,
  SignatureVerificationSchema,
  type SignedFileResult,
  SignedFileResultSchema,
  type SignerInfo,
  SignerSchema,
  type SigningMethod,
  VERIFICATION_STAGES,
  type VerificationStage,
} from "./oms/result.js";
export { type SignOptions, type SignResult, signModel, signModel as sign } from "./oms/sign.js";
export {
  emptyTrustedRoot,
  PUBLIC_GOOD_TRUSTED_ROOT_INFO,
  publicGoodTrustedRoot,
  type RefreshTrustedRootOptions,
  readTrustedRoot,
  refreshTrustedRoot,
  trustedRootFromJSON,
} from "./oms/trusted-root.js";
export { DEFAULT_SIGNATURE_NAME, type VerifyOptions, verifyModel } from "./oms/verify.js";
export {
  type CheckDirectoryOptions,
  type CreateLockOptions,
  checkDirectory,
  comparePins,
  createLockFile,
  formatLockFile,
  LOCK_FILE_NAME,
  type LockEntry,
  LockEntrySchema,
  type LockFile,
  LockFileSchema,
  MAX_LOCK_FILE_BYTES,
  type ObservedFile,
  PinPathSchema,
  type PinViolation,
  parseLockFile,
  readLockFile,
  validatePins,
  writeLockFile,
} from "./pins/lock.js";
