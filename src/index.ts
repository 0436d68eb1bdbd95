/**
 * modelgate: decide whether a pre-trained model artifact is safe to load, before anyone loads it.
 *
 * This is the everyday surface: scanning, the typed report, renderers, policies, errors, signing
 * and verification, the verdict cache and Hub targets. The rest of each area is a subpath
 * (`modelgate/report`, `modelgate/policy`, `modelgate/signing`, `modelgate/hub`), and the format
 * readers are `modelgate/pickle`, `modelgate/safetensors`, `modelgate/gguf`, `modelgate/onnx`,
 * `modelgate/numpy` and `modelgate/zip`. The committed API report (`api/modelgate.api.md`) lists
 * every entry point's exports.
 * @packageDocumentation
 */
export type { ByteSource } from "./core/byte-source.js";
export { type ErrorCode, isModelgateError, ModelgateError, type ModelgateErrorOptions } from "./core/errors.js";
export { DEFAULT_LIMITS, type Limits } from "./core/limits.js";
export { HubTransport, parseHubUri, resolveHubSettings } from "./entries/hub.js";
export {
  discoverPolicy,
  getRule,
  loadPolicyFile,
  type PolicyOptions,
  type RuleDef,
  type RuleId,
  validatePolicy,
} from "./entries/policy.js";
/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `entries/registries.ts`). */
export type * from "./entries/registries.js";
export {
  type Evidence,
  type FileReport,
  FileReportSchema,
  type Finding,
  type Format,
  renderCycloneDx,
  renderSarif,
  renderText,
  type ScanReport,
  ScanReportSchema,
  type Severity,
  severityRank,
  type Verdict,
} from "./entries/report.js";
export {
  type AttestationVerification,
  attest,
  type SignatureVerification,
  signModel,
  verifyAttestation,
  verifyModel,
} from "./entries/signing.js";
export { FileVerdictCache, MemoryVerdictCache, type VerdictCache, type VerdictCacheKey } from "./scan/cache.js";
export { scan } from "./scan/engine.js";
export { type ScanManyOptions, type ScanManyResult, scanMany } from "./scan/many.js";
export type { ProgressEvent, ProgressPhase, ScanOptions } from "./scan/types.js";
export type { ScanTarget } from "./sources/roots.js";
