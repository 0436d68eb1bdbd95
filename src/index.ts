/**
 * modelgate: decide whether a pre-trained model artifact is safe to load, before anyone loads it.
 * @packageDocumentation
 */

export * from "./containers/index.js";
export { type ErrorCode, isModelgateError, ModelgateError, type ModelgateErrorOptions } from "./errors.js";
export { type SniffInput, sniff } from "./formats/sniff.js";
export type { PolicyOptions, ResolvedPolicy } from "./policy/policy.js";
export { getRule, isRuleId, RULES, type RuleDef, type RuleId } from "./policy/rules/index.js";
export * from "./report/schema.js";
export { severityRank, verdictOfSeverity, verdictRank, worstVerdict } from "./report/verdict.js";
export { resolveLimits, scan, scanRoot, summarize } from "./scan/engine.js";
export * from "./scan/types.js";
export {
  BufferSource,
  type ByteSource,
  type ChunkOptions,
  GuardedSource,
  type GuardOptions,
  readChunks,
  readClamped,
  readExact,
  SliceSource,
} from "./sources/byte-source.js";
export { FileSource } from "./sources/file.js";
export { DirectoryRoot, FileRoot, rootFor, type ScanTarget, SourceRoot } from "./sources/roots.js";
export { TOOL_NAME, TOOL_VERSION } from "./version.js";
