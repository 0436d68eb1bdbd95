/**
 * The policy's signature requirement, checked against the report's signature result.
 *
 * The signature result is produced by the OMS verifier (integrity) and recorded on the report as
 * `signature`. Until a report carries it, it is read defensively here: anything that is not a
 * recognisable result counts as "not verified", so a required signature fails closed.
 * @module
 */
import { z } from "zod";
import type { Evidence } from "../core/findings.js";
import type { Severity } from "../core/severity.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import type { FileReport, ScanReport } from "../report/schema.js";
import { summarize } from "../report/summary.js";
import { verdictOfFinding, worstVerdict } from "../report/verdict.js";
import { publicKeyFingerprint, type ResolvedPolicy, type SignatureRequirement } from "./policy.js";

/**
 * The fields of the report's `signature` result this check relies on. Extra fields are allowed.
 * `keyFingerprint` is the SHA-256 (hex) of the verifying key's DER SubjectPublicKeyInfo.
 */
export const SignatureResultSchema = z.looseObject({
  status: z.enum(["verified", "failed", "unsigned", "unverified"]),
  method: z.string().optional(),
  identity: z.string().optional(),
  issuer: z.string().optional(),
  keyFingerprint: z.string().optional(),
  path: z.string().optional(),
  message: z.string().optional(),
  /** The model root the result is for, relative to the scanned directory (`.` or absent: the directory itself). */
  model: z.string().optional(),
  /** How much of the scanned directory verified signatures cover (set by scans). */
  coverage: z
    .looseObject({
      complete: z.boolean(),
      uncoveredCount: z.number().optional(),
      uncovered: z.array(z.string()).optional(),
    })
    .optional(),
});

/** What the check reads of a signature result. */
export type SignatureResult = z.infer<typeof SignatureResultSchema>;

/**
 * Reads the OMS verifier's `SignatureVerification` (signer fields nested under `signer`) as the
 * flat fields checked here; other values pass through unchanged.
 */
function flattenVerification(value: unknown): unknown {
  if (typeof value !== "object" || value === null || !("errors" in value && "files" in value)) return value;
  const v = value as SignatureVerification;
  const signer = v.signer ?? {};
  const identity = signer.identity ?? signer.certificateSubject;
  const issuer = signer.issuer ?? signer.certificateIssuer;
  return {
    status: v.status,
    ...(v.method === undefined ? {} : { method: v.method }),
    ...(identity === undefined ? {} : { identity }),
    ...(issuer === undefined ? {} : { issuer }),
    ...(signer.keyFingerprint === undefined ? {} : { keyFingerprint: signer.keyFingerprint }),
    ...(v.signaturePath === undefined ? {} : { path: v.signaturePath }),
    ...(v.errors[0] === undefined ? {} : { message: v.errors[0] }),
    ...(v.model === undefined ? {} : { model: v.model }),
    ...(v.coverage === undefined ? {} : { coverage: v.coverage }),
  };
}

/** Why a signature result does not satisfy a requirement. */
export interface SignatureViolation {
  /** Human-readable reason. */
  readonly message: string;
  /** Severity for the finding (`high` when verification failed, the rule default otherwise). */
  readonly severity?: Severity;
  /** Evidence for the finding. */
  readonly evidence: Evidence;
}

/**
 * Checks a signature result against a requirement: verified, by the required signer, and covering
 * the whole scanned directory. A result for a sub-folder (`model` other than `.`) never satisfies
 * it unless its `coverage` says every scanned file is covered; a result with `coverage` satisfies it
 * only when `coverage.complete` is true.
 * @param signature - the report's `signature` field (any value; unrecognised means not verified)
 * @param requirement - the policy's `signature` section
 * @returns the violation, or undefined when the requirement is met or not required
 */
export function signatureViolation(
  signature: unknown,
  requirement: SignatureRequirement | undefined,
): SignatureViolation | undefined {
  const signer = signerViolation(signature, requirement);
  if (signer !== undefined || requirement === undefined || requirement.required === false) return signer;
  const result = SignatureResultSchema.parse(flattenVerification(signature));
  const evidence = evidenceOf(result);
  const coverage = result.coverage;
  if (coverage !== undefined) {
    if (coverage.complete) return undefined;
    const count = coverage.uncoveredCount ?? coverage.uncovered?.length ?? 0;
    const listed = coverage.uncovered ?? [];
    const names = `${listed.slice(0, 5).join(", ")}${count > Math.min(5, listed.length) ? ` and ${count - Math.min(5, listed.length)} more` : ""}`;
    evidence.uncovered = count;
    return {
      message: `the policy requires a signature covering the whole directory and ${count} file${count === 1 ? " is" : "s are"} not covered by a verified signature${names === "" ? "" : `: ${names}`}`,
      evidence,
    };
  }
  if (result.model !== undefined && result.model !== ".") {
    return {
      message: `the policy requires a signature of the scanned directory and the signature found covers only ${result.model}/`,
      evidence,
    };
  }
  return undefined;
}

function evidenceOf(result: SignatureResult): Evidence {
  const evidence: Evidence = { status: result.status };
  for (const key of ["method", "identity", "issuer", "keyFingerprint", "path", "model"] as const) {
    const value = result[key];
    if (value !== undefined) evidence[key] = value;
  }
  return evidence;
}

/**
 * Checks only who signed: the result is verified, with the required method, identity, issuer or
 * key. Coverage is not looked at (the OMS analyzer uses this to decide which signatures count
 * towards covering a scanned directory).
 * @param signature - a signature result (any value; unrecognised means not verified)
 * @param requirement - the policy's `signature` section
 * @returns the violation, or undefined when the signer is accepted or nothing is required
 */
export function signerViolation(
  signature: unknown,
  requirement: SignatureRequirement | undefined,
): SignatureViolation | undefined {
  if (requirement === undefined || requirement.required === false) return undefined;
  const parsed = SignatureResultSchema.safeParse(flattenVerification(signature));
  if (!parsed.success) {
    return {
      message:
        signature === undefined
          ? "the policy requires a signature and no signature verification result is available"
          : "the policy requires a signature and the signature result is not recognised",
      evidence: { status: "unknown" },
    };
  }
  const result = parsed.data;
  const evidence = evidenceOf(result);
  if (result.status === "unsigned") {
    return { message: "the policy requires a signature and the model is unsigned", evidence };
  }
  if (result.status === "unverified") {
    return {
      message: `the policy requires a signature and its signer was not verified (no trust material for the ${result.method ?? "?"} method)`,
      evidence,
    };
  }
  if (result.status === "failed") {
    return {
      message: `signature verification failed${result.message === undefined ? "" : `: ${result.message}`}`,
      severity: "high",
      evidence,
    };
  }
  const mismatches: string[] = [];
  if (requirement.method !== undefined && result.method !== requirement.method) {
    mismatches.push(`method is ${result.method ?? "unknown"}, policy requires ${requirement.method}`);
  }
  if (requirement.identity !== undefined && result.identity !== requirement.identity) {
    mismatches.push(`signer is ${result.identity ?? "unknown"}, policy requires ${requirement.identity}`);
  }
  if (requirement.issuer !== undefined && result.issuer !== requirement.issuer) {
    mismatches.push(`issuer is ${result.issuer ?? "unknown"}, policy requires ${requirement.issuer}`);
  }
  if (requirement.key !== undefined) {
    const expected = publicKeyFingerprint(requirement.key);
    if (result.keyFingerprint?.toLowerCase() !== expected) {
      mismatches.push(`signed with key ${result.keyFingerprint ?? "unknown"}, policy requires ${expected}`);
      evidence.expectedKeyFingerprint = expected;
    }
  }
  if (mismatches.length === 0) return undefined;
  return { message: `signature verified but not accepted by the policy: ${mismatches.join("; ")}`, evidence };
}

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
  const ruleId = "policy/signature-required";
  const files = report.files.map((file): FileReport => {
    if (file.format === "oms-signature") return file;
    const decision = policy.decide(ruleId, file.path, violation.severity);
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
