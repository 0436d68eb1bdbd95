/**
 * modelgate: decide whether a pre-trained model artifact is safe to load, before anyone loads it.
 * @packageDocumentation
 */

export * from "./containers/index.js";
export {
  BufferSource,
  type ByteSource,
  type ChunkOptions,
  readChunks,
  readClamped,
  readExact,
  SliceSource,
} from "./core/byte-source.js";
export { type ErrorCode, isModelgateError, ModelgateError, type ModelgateErrorOptions } from "./core/errors.js";
export type { RuleRegistry } from "./core/findings.js";
export {
  type DuplicateKey,
  JsonNumber,
  JsonObject,
  type JsonParseOptions,
  type JsonParseResult,
  type JsonValue,
  parsePlainJson,
  parseStrictJson,
} from "./core/json.js";
export { TOOL_NAME, TOOL_VERSION } from "./core/version.js";
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
export { type JoblibCompression, joblibCompression } from "./formats/joblib/analyzer.js";
export {
  analyzeKerasConfig,
  type EmbeddedPayload,
  type KerasConfigBudgets,
  type KerasConfigResult,
} from "./formats/keras/config.js";
export {
  type Hdf5Attribute,
  type Hdf5Budgets,
  type Hdf5RootInfo,
  readHdf5RootAttributes,
} from "./formats/keras/hdf5.js";
export {
  type CodeLayout,
  type CodeObject,
  DANGEROUS_CODE_NAMES,
  DEFAULT_MARSHAL_BUDGETS,
  dangerousNames,
  type MarshalBudgets,
  type MarshalResult,
  type MarshalValue,
  parseMarshal,
} from "./formats/marshal/marshal.js";
export {
  MAX_NPY_HEADER,
  NPY_MAGIC,
  type NpyDtype,
  type NpyHeader,
  type PyLiteral,
  parsePyLiteral,
  readNpyHeader,
} from "./formats/numpy/npy.js";
export {
  DEFAULT_ONNX_BUDGETS,
  type OnnxBudgets,
  type OnnxExternalRef,
  type OnnxFunction,
  type OnnxOpUse,
  type OnnxReadResult,
  type OnnxSummary,
  readOnnx,
  readOnnxPartial,
} from "./formats/onnx/reader.js";
export {
  analyzePickleStream,
  type PickleAnalysis,
  type PickleAnalysisOptions,
  type PickleEmbeddedPayload,
  type PickleRun,
  reportRuns,
  runPickle,
} from "./formats/pickle/analyze.js";
export { pickleContextFor } from "./formats/pickle/analyzer.js";
export {
  DEFAULT_DECODER_OPTIONS,
  type DecodeResult,
  type DecoderOptions,
  type DecoderState,
  decodePickle,
  type FastSink,
  type FrameDivergence,
  OpArg,
  type OpSink,
  PickleError,
  SinkAction,
} from "./formats/pickle/decoder.js";
export { type DisassembledOp, type Disassembly, disassemble } from "./formats/pickle/disassemble.js";
export { DEFAULT_CHUNK, PickleInput, SourceInput, StreamInput } from "./formats/pickle/input.js";
export {
  defaultMachineOptions,
  dtypeInfo,
  isResolver,
  joblibArrayLayout,
  type MachineEvent,
  type MachineEventKind,
  type MachineOptions,
  type NestedKind,
  type NestedPayload,
  PickleMachine,
  type SharedState,
  TORCH_STORAGES,
} from "./formats/pickle/machine.js";
export {
  type ArgKind,
  HIGHEST_PROTOCOL,
  OP,
  OPCODES,
  type OpcodeInfo,
  opcodeInfo,
  opcodeName,
  type StackKind,
} from "./formats/pickle/opcodes.js";
export { type SourceName, type SourceScan, scanPythonSource } from "./formats/pickle/pysource.js";
export {
  type BlobRef,
  type CallRecord,
  CONTAINER_CAP,
  PyBuffer,
  PyBytes,
  PyCall,
  PyCode,
  PyDict,
  PyFloat,
  PyLargeStr,
  PyNamespace,
  PyOperator,
  PyPartial,
  PyPersistent,
  PyRef,
  PySeq,
  PyStr,
  PyUnknown,
  preview,
  type RefOrigin,
  type RefSite,
  type Value,
} from "./formats/pickle/values.js";
export {
  readSafetensorsHeader,
  type SafetensorsHeader,
  type SafetensorsIssue,
  type SafetensorsReadOptions,
  type SafetensorsTensor,
  type UnclaimedRange,
} from "./formats/safetensors/parser.js";
export {
  readSavedModel,
  type SavedModelReadResult,
  type SavedModelSummary,
  type TfNode,
} from "./formats/savedmodel/reader.js";
export { type SniffInput, sniff } from "./formats/sniff.js";
export {
  analyzeTemplate,
  type TemplateAnalysis,
  type TemplateFinding,
  type TemplateOptions,
  type TemplateRuleId,
} from "./formats/template/analyze.js";
export * from "./integrity/index.js";
export { TOOL_ADVISORIES, TOOLS, type Tool, type ToolAdvisory } from "./policy/advisories.js";
export { compileGlob, type Glob, MAX_GLOB_LENGTH } from "./policy/glob.js";
export {
  type DiscoverPolicyOptions,
  discoverPolicy,
  findPolicyFile,
  loadPolicyFile,
  MAX_POLICY_BYTES,
  POLICY_FILE_NAME,
} from "./policy/load.js";
export {
  BUILTIN_PROFILES,
  type Classification,
  DEFAULT_CONTEXT_PROFILES,
  type PickleContext,
  PicklePolicy,
  type PicklePolicyOptions,
  type PickleProfile,
  type PickleUse,
  picklePolicy,
} from "./policy/pickle/index.js";
export {
  canonicalJson,
  type FindingDecision,
  formatIssues,
  MAX_SUPPRESSIBLE_PATH,
  type PolicyOptions,
  PolicyOptionsSchema,
  publicKeyFingerprint,
  type ResolvedPolicy,
  type ResolveOptions,
  resolvePolicy,
  SIGNATURE_METHODS,
  type SignatureRequirement,
  type Suppression,
  type SuppressionUse,
  validatePolicy,
} from "./policy/policy.js";
export { getRule, isRuleId, RULES, type RuleDef, type RuleId } from "./policy/rules/index.js";
export {
  applySignaturePolicy,
  type SignatureResult,
  SignatureResultSchema,
  type SignatureViolation,
  signatureViolation,
} from "./policy/signature.js";
export * from "./report/render/cyclonedx.js";
export { escapeForTerminal, escapeJsonForTerminal, truncateLine } from "./report/render/escape.js";
export { renderSarif, type SarifOptions } from "./report/render/sarif.js";
export { renderText, type Stylize, type TextOptions } from "./report/render/text.js";
export * from "./report/schema.js";
export { severityRank, verdictOfSeverity, verdictRank, worstVerdict } from "./report/verdict.js";
export * from "./scan/cache.js";
export { resolveLimits, scan, scanRoot, summarize } from "./scan/engine.js";
export { failureReport, type ScanManyOptions, type ScanManyResult, scanMany } from "./scan/many.js";
export * from "./scan/types.js";
export { GuardedSource, type GuardOptions } from "./sources/byte-source.js";
export {
  type ExpectedFile,
  FileChangedError,
  type FileIdentity,
  FileSource,
  type OpenFileOptions,
} from "./sources/file.js";
export * from "./sources/hub/index.js";
export {
  DirectoryRoot,
  type DirectoryRootOptions,
  FileRoot,
  type RootOptions,
  rootFor,
  type ScanTarget,
  SourceRoot,
} from "./sources/roots.js";
