/**
 * `modelgate/report`: the scan report's types and zod schemas, verdict arithmetic, and the
 * renderers (text, SARIF 2.1.0, CycloneDX 1.6 ML-BOM) with their option and output types.
 * `modelgate` re-exports the report's types and `severityRank`; the schemas and renderers load zod
 * and the rule registry, so they are exported here only.
 * @module
 */
export type { Evidence } from "../core/findings.js";
export type { Format, FormatRegistry } from "../core/formats.js";
export { SEVERITIES, type Severity, VERDICTS, type Verdict } from "../core/severity.js";
export type { SignatureVerification } from "../integrity/oms/result.js";
export {
  type CdxComponent,
  type CdxExternalReference,
  type CdxHash,
  type CdxInputOutput,
  type CdxModelCard,
  type CdxProperty,
  type CdxSource,
  type CdxVulnerability,
  type CycloneDxBom,
  type CycloneDxOptions,
  renderCycloneDx,
} from "../report/render/cyclonedx.js";
export { escapeForTerminal } from "../report/render/escape.js";
export { renderSarif, type SarifOptions } from "../report/render/sarif.js";
export { renderText, type Stylize, type TextOptions } from "../report/render/text.js";
export {
  FileReportSchema,
  FindingSchema,
  REPORT_SCHEMA_VERSION,
  reportJsonSchema,
  ScanReportSchema,
} from "../report/schema.js";
export type {
  FileIntegrity,
  FileReport,
  Finding,
  Hashes,
  HubTargetInfo,
  MemberReport,
  PolicyReport,
  ScanError,
  ScanReport,
  Summary,
  SuppressedFinding,
  SuppressionRecord,
  SuppressionStatus,
  Target,
} from "../report/types.js";
export { severityRank, verdictRank, worstVerdict } from "../report/verdict.js";

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
