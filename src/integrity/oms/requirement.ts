/**
 * What a policy may require of a signature, and the check of an OMS verification result (or a
 * report's `signature` field) against it: who signed, and whether verified signatures cover the
 * whole scanned directory. Lives with the verifier; the policy (`src/policy/`) reads it.
 *
 * A result is read defensively: anything that is not a recognisable result counts as "not
 * verified", so a required signature fails closed.
 * @module
 */
import type { z } from "zod";
import { ModelgateError } from "../../core/errors.js";
import type { Evidence } from "../../core/findings.js";
import type { Severity } from "../../core/severity.js";
import type { SignatureResultSchema } from "./requirement-schema.js";
import type { SignatureVerification } from "./result.js";

declare module "../../core/analyzer.js" {
  interface PolicySections {
    /** Signature requirement: an unsigned or unverified model fails (`policy/signature-required`). */
    readonly signature?: SignatureRequirement | undefined;
  }
}

/** Signature methods of OpenSSF Model Signing. */
export const SIGNATURE_METHODS = ["sigstore", "key", "certificate"] as const;

/** What a signature must satisfy for the model to pass. */
export interface SignatureRequirement {
  /** Whether a verified signature is required (default true when the section is present). */
  required?: boolean;
  /** Required signing method. */
  method?: (typeof SIGNATURE_METHODS)[number];
  /** Required signer identity (Sigstore certificate SAN: e-mail or URI; certificate subject). */
  identity?: string;
  /** Required issuer (Sigstore OIDC issuer, or certificate issuer). */
  issuer?: string;
  /** Required public key (PEM); compared by SPKI SHA-256 fingerprint. */
  key?: string;
}

/**
 * SHA-256 fingerprint (lowercase hex) of a public key's DER SubjectPublicKeyInfo.
 * @param pem - PEM public key (or certificate)
 * @throws ModelgateError `POLICY` when it is not a public key
 */
export function publicKeyFingerprint(pem: string): string {
  try {
    const crypto = process.getBuiltinModule("node:crypto");
    const der = crypto.createPublicKey(pem).export({ type: "spki", format: "der" });
    return crypto.createHash("sha256").update(der).digest("hex");
  } catch (error) {
    throw new ModelgateError("POLICY", "signature.key: not a PEM public key", { cause: error });
  }
}

/** What a signature result's `status` may be. */
export const SIGNATURE_STATUSES = ["verified", "failed", "unsigned", "unverified"] as const;

/**
 * What the check reads of a signature result: `status` and the optional fields below; extra
 * fields are allowed. `keyFingerprint` is the SHA-256 (hex) of the verifying key's DER
 * SubjectPublicKeyInfo. The same shape as `SignatureResultSchema` (`requirement-schema.ts`).
 */
export type SignatureResult = z.infer<typeof SignatureResultSchema>;

const RESULT_STRINGS = ["method", "identity", "issuer", "keyFingerprint", "path", "message", "model"] as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const optional = (value: unknown, is: (v: unknown) => boolean): boolean => value === undefined || is(value);

/** An array of strings, holes included (a hole is undefined, not a string: `every` would skip it). */
function isStringArray(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false;
  return true;
}

/**
 * Reads a signature result without zod: a copy of the value (its own fields, and the fields
 * checked here read once) when `SignatureResultSchema` would accept it, else undefined. A scan that
 * requires no signature never reads one, and one that does must not need the schema's module (zod)
 * to fail closed.
 * @param value - any value
 */
export function readSignatureResult(value: unknown): SignatureResult | undefined {
  if (!isRecord(value)) return undefined;
  const status = value.status;
  if (!(SIGNATURE_STATUSES as readonly unknown[]).includes(status)) return undefined;
  const out: Record<string, unknown> = { ...value, status };
  for (const key of RESULT_STRINGS) {
    const field = value[key];
    if (!optional(field, (v) => typeof v === "string")) return undefined;
    if (field !== undefined) out[key] = field;
  }
  const coverage = value.coverage;
  if (coverage !== undefined) {
    if (!isRecord(coverage)) return undefined;
    const { complete, uncoveredCount, uncovered } = coverage;
    if (typeof complete !== "boolean") return undefined;
    if (!optional(uncoveredCount, (v) => typeof v === "number" && Number.isFinite(v))) return undefined;
    if (!optional(uncovered, isStringArray)) return undefined;
    out.coverage = {
      ...coverage,
      complete,
      ...(uncoveredCount === undefined ? {} : { uncoveredCount }),
      ...(uncovered === undefined ? {} : { uncovered: [...(uncovered as string[])] }),
    };
  }
  return out as SignatureResult;
}

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
  const result = readSignatureResult(flattenVerification(signature));
  // signerViolation accepted it, so it is a result; fail closed all the same
  if (result === undefined) return unrecognised(signature);
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

/** The violation of a signature value that is no signature result (absent or unrecognised). */
function unrecognised(signature: unknown): SignatureViolation {
  return {
    message:
      signature === undefined
        ? "the policy requires a signature and no signature verification result is available"
        : "the policy requires a signature and the signature result is not recognised",
    evidence: { status: "unknown" },
  };
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
  const result = readSignatureResult(flattenVerification(signature));
  if (result === undefined) return unrecognised(signature);
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
