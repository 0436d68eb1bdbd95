/**
 * The policy's signature requirement, checked against the report's signature result.
 *
 * The signature result is produced by the OMS verifier (integrity) and recorded on the report as
 * `signature`. Until a report carries it, it is read defensively here: anything that is not a
 * recognisable result counts as "not verified", so a required signature fails closed.
 * @module
 */
import type { RuleId } from "../core/findings.js";
import { signatureViolation } from "../integrity/oms/requirement.js";
import type { FileReport, ScanReport } from "../report/schema.js";
import { summarize } from "../report/summary.js";
import { verdictOfFinding, worstVerdict } from "../report/verdict.js";
import type { ResolvedPolicy } from "./policy.js";

export {
  type SignatureResult,
  type SignatureViolation,
  signatureViolation,
  signerViolation,
} from "../integrity/oms/requirement.js";
export { SignatureResultSchema } from "../integrity/oms/requirement-schema.js";

/**
 * Applies the policy's signature requirement to a finished report: when it is not met (no verified
 * signature by the required signer, or one that does not cover the whole scanned directory), every
 * file except OMS signature files gets a `policy/signature-required` finding (subject to the
 * policy's suppressions and overrides), and verdicts and the summary are updated. Reads
 * `report.signature`.
 * @param report - the report (not modified)
 * @param policy - the policy in force
 * @returns the report, or a new report with the findings added
 */
export function applySignaturePolicy(report: ScanReport, policy: ResolvedPolicy): ScanReport {
  const violation = signatureViolation((report as { signature?: unknown }).signature, policy.options.signature);
  if (violation === undefined) return report;
  const ruleId: RuleId = "policy/signature-required";
  const files = report.files.map((file): FileReport => {
    if (file.format === "oms-signature") return file;
    const decision = policy.decide(ruleId, file.path, violation.severity, file.path);
    if (decision.action === "drop") return file;
    const finding = {
      ruleId,
      severity: decision.severity,
      message: violation.message,
      path: file.path,
      evidence: violation.evidence,
    };
    if (decision.action === "suppress") {
      return { ...file, suppressed: [...(file.suppressed ?? []), { ...finding, suppression: decision.suppression }] };
    }
    return {
      ...file,
      verdict: worstVerdict(file.verdict, verdictOfFinding(decision.severity, false)),
      findings: [...file.findings, finding],
    };
  });
  return {
    ...report,
    files,
    verdict: worstVerdict(report.verdict, ...files.map((f) => f.verdict)),
    summary: summarize(files, report.summary.bytesRead),
  };
}
