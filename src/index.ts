/**
 * modelgate: decide whether a pre-trained model artifact is safe to load, before anyone loads it.
 * @packageDocumentation
 */
export { type ErrorCode, isModelgateError, ModelgateError, type ModelgateErrorOptions } from "./errors.js";
export {
  type GgufHeader,
  type GgufIssue,
  type GgufKeyValue,
  type GgufReadOptions,
  type GgufScalar,
  type GgufTensorInfo,
  readGgufHeader,
} from "./formats/gguf/reader.js";
export { GGML_TYPES, GGUF_TYPE, type GgmlType } from "./formats/gguf/types.js";
export {
  type DuplicateKey,
  JsonNumber,
  JsonObject,
  type JsonParseOptions,
  type JsonParseResult,
  type JsonValue,
  parseStrictJson,
} from "./formats/safetensors/json.js";
export {
  readSafetensorsHeader,
  type SafetensorsHeader,
  type SafetensorsIssue,
  type SafetensorsReadOptions,
  type SafetensorsTensor,
  type UnclaimedRange,
} from "./formats/safetensors/parser.js";
export { type SniffInput, sniff } from "./formats/sniff.js";
export {
  analyzeTemplate,
  type TemplateAnalysis,
  type TemplateFinding,
  type TemplateOptions,
  type TemplateRuleId,
} from "./formats/template/analyze.js";
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
