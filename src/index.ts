/**
 * modelgate: decide whether a pre-trained model artifact is safe to load, before anyone loads it.
 *
 * This is the everyday surface: scanning, policies, errors, signing and verification, scan
 * attestations' verification, the verdict cache and Hub targets, with the report's types. The rest
 * of each area is a subpath: `modelgate/report` (the zod schemas, the renderers, verdict
 * arithmetic), `modelgate/policy` (`validatePolicy`, the rule registry `getRule`/`RULES`),
 * `modelgate/signing` (`attest`, lock files, trust roots), `modelgate/hub`; the format readers are
 * `modelgate/pickle`, `modelgate/safetensors`, `modelgate/gguf`, `modelgate/onnx`, `modelgate/numpy`
 * and `modelgate/zip`. The committed API report (`api/modelgate.api.md`) lists every entry point's
 * exports.
 *
 * `import("modelgate")` stays cheap (issue 18): the asynchronous functions here load their
 * implementation (the scan engine, the format registry, zod, Sigstore) on their first call, and
 * nothing synchronous that needs those modules is exported here.
 * @packageDocumentation
 */
import type {
  AttestationTarget,
  AttestationVerification,
  VerifyAttestationOptions,
} from "./integrity/attest/verify.js";
import type { SignatureVerification } from "./integrity/oms/result.js";
import type { SignOptions, SignResult } from "./integrity/oms/sign.js";
import type { VerifyOptions } from "./integrity/oms/verify.js";
import type { DiscoverPolicyOptions } from "./policy/load.js";
import type { PolicyOptions } from "./policy/policy.js";
import type { ScanReport } from "./report/types.js";
import type { ScanManyOptions, ScanManyResult } from "./scan/many.js";
import type { ScanOptions } from "./scan/types.js";
import type { ScanTarget } from "./sources/roots.js";

export type { ByteSource } from "./core/byte-source.js";
export { type ErrorCode, isModelgateError, ModelgateError, type ModelgateErrorOptions } from "./core/errors.js";
export type { Evidence } from "./core/findings.js";
export type { Format } from "./core/formats.js";
export { DEFAULT_LIMITS, type Limits } from "./core/limits.js";
export type { Severity, Verdict } from "./core/severity.js";
/** Completes \`RuleId\`, \`Format\` and \`PolicyOptions\` in the declaration files (see \`entries/registries.ts\`). */
export type * from "./entries/registries.js";
// Values are exported from the module that defines them, never through the subpath barrels
// (`entries/*`), and only when that module is light: importing it must not load the format
// registry, zod or Sigstore. test/startup/startup.test.ts holds the main entry to that.
export type { AttestationVerification } from "./integrity/attest/verify.js";
export type { SignatureVerification } from "./integrity/oms/result.js";
export type { PolicyOptions } from "./policy/policy.js";
export type { RuleDef, RuleId } from "./registry/rules.js";
export type { FileReport, Finding, ScanReport } from "./report/types.js";
export { severityRank } from "./report/verdict.js";
export { FileVerdictCache, MemoryVerdictCache, type VerdictCache, type VerdictCacheKey } from "./scan/cache.js";
export type { ScanManyOptions, ScanManyResult } from "./scan/many.js";
export type { ProgressEvent, ProgressPhase, ScanOptions } from "./scan/types.js";
export { parseHubUri, resolveHubSettings } from "./sources/hub/config.js";
export { HubTransport } from "./sources/hub/transport.js";
export type { ScanTarget } from "./sources/roots.js";

/**
 * Scans a file, a directory, in-memory bytes or a ByteSource and reports what it finds. Never
 * executes or deserialises anything. Resolves with a report even when files fail or the scan is
 * aborted or runs out of time (`complete: false`, unfinished files `invalid`); rejects only for a
 * bad target or bad options (or a target that cannot even be resolved within `scanTimeoutMs`).
 * The first call loads the scan engine and the format registry.
 * @param target - a path, `{ bytes, name }`, `{ source, name }` or a ByteSource
 * @param options - budgets, policy, concurrency, progress, abort signal
 */
export async function scan(target: ScanTarget, options?: ScanOptions): Promise<ScanReport> {
  const engine = await import("./scan/engine.js");
  return engine.scan(target, options);
}

/**
 * Scans many targets (local paths, Hub repositories, bytes) with at most `targetConcurrency` at
 * once and yields each result as soon as it is ready, in completion order. The input is consumed
 * lazily, so it may be a long async stream of repositories. Never rejects for a single bad target:
 * that target's result carries an `invalid` report and the error. Breaking out of the loop aborts
 * the targets still running.
 * @param targets - what to scan
 * @param options - per-scan options (cache, policy, limits...) plus pool settings
 */
export async function* scanMany(
  targets: Iterable<ScanTarget> | AsyncIterable<ScanTarget>,
  options?: ScanManyOptions,
): AsyncGenerator<ScanManyResult, void, undefined> {
  const many = await import("./scan/many.js");
  // `yield*` forwards `return()` (a `break` in the caller's loop) and `throw()` to the pool.
  yield* many.scanMany(targets, options);
}

/**
 * Reads and validates a policy file. `signature.keyFile` (a PEM file inside the policy file's
 * folder, relative to it) is read into `signature.key`, so the policy hash covers the key itself.
 * The result records the file in `source`.
 * @param path - the policy file (relative paths resolve against the working directory)
 * @throws ModelgateError `POLICY` for unreadable, untrusted (a link, FIFO or device; writable by
 *   group or others; owned by another user; too large), non-JSON or invalid policies, naming the field
 */
export async function loadPolicyFile(path: string): Promise<PolicyOptions> {
  const load = await import("./policy/load.js");
  return load.loadPolicyFile(path);
}

/**
 * The policy of a run: the nearest `.modelgate.json` from the working directory upward (the search
 * stops at a folder others can write to, such as `/tmp`), loaded and validated. The scanned target
 * plays no part.
 * @param options - the starting folder
 * @returns the policy, or undefined when no policy file applies
 * @throws ModelgateError `POLICY` when the file found is untrusted or invalid
 */
export async function discoverPolicy(options?: DiscoverPolicyOptions): Promise<PolicyOptions | undefined> {
  const load = await import("./policy/load.js");
  return load.discoverPolicy(options);
}

/**
 * Signs a model directory (or single file) and writes an OMS signature.
 * @param modelPath - model directory or single file
 * @param options - key, certificate chain, ignores, hash, shards
 * @returns the bundle and where it was written
 * @throws ModelgateError `INVALID_ARGUMENT` (bad key, unsupported curve, certificate not matching the key, symlinks not allowed, special files), `IO`
 */
export async function signModel(modelPath: string, options: SignOptions): Promise<SignResult> {
  const sign = await import("./integrity/oms/sign.js");
  return sign.signModel(modelPath, options);
}

/**
 * Verifies a model directory (or single file) against its OMS signature.
 *
 * The method is chosen by the bundle: `key` needs `publicKey`; `certificate` needs
 * `certificateChain` (trust anchors; system roots are never used) and checks validity at
 * `time` (default now); `sigstore` needs `identity` and `issuer` and uses `trustedRoot` or the
 * shipped public-good snapshot, offline.
 * @param modelPath - model directory or single file
 * @param options - trust material, ignores, policies
 * @returns the result; `unsigned` when no signature exists
 * @throws ModelgateError for caller errors (unreadable model or signature path, bad key or certificate input)
 */
export async function verifyModel(modelPath: string, options?: VerifyOptions): Promise<SignatureVerification> {
  const verify = await import("./integrity/oms/verify.js");
  return verify.verifyModel(modelPath, options);
}

/**
 * Verifies a scan attestation (a Sigstore bundle made by `attest` of `modelgate/signing`) against
 * a target: the signature with the trust material for the bundle's method (a public key, CA
 * certificates, or a Sigstore identity, issuer and trust root; never material from the bundle
 * itself), the statement's shape, the caller's requirements (`requirePassed`, `policyDigest`,
 * `maxAge`, `verifierId`), then the SHA-256 of exactly the target's files against the subjects: a
 * changed, missing or (unless `allowExtraFiles`) added file fails.
 * @param bundle - the attestation: JSON text, bytes or a parsed object
 * @param target - a directory or file path, `{ hub }`, or a scan root
 * @param options - trust material and requirements
 * @returns the result; `failed` with the stage and reason for any hostile or non-matching input
 * @throws ModelgateError for caller errors only (a bad key or certificate, a target that cannot be opened, abort)
 */
export async function verifyAttestation(
  bundle: string | Uint8Array | Record<string, unknown>,
  target: AttestationTarget,
  options?: VerifyAttestationOptions,
): Promise<AttestationVerification> {
  const verify = await import("./integrity/attest/verify.js");
  return verify.verifyAttestation(bundle, target, options);
}
