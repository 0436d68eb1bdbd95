/**
 * Rules of OpenSSF Model Signing signatures.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const OMS_SPEC = "https://github.com/ossf/model-signing-spec";

/** OMS signature rules. */
export const omsRules = [
  {
    id: "integrity/signature-verified",
    title: "OMS signature verified",
    severity: "info",
    description:
      "An OpenSSF Model Signing signature was found, its signer matched the trust material supplied (public key, certificate anchors, or Sigstore identity and issuer) and every signed file matched its digest.",
    references: [OMS_SPEC],
  },
  {
    id: "integrity/signature-unverified",
    title: "OMS signature present, signer not checked",
    severity: "info",
    description:
      "An OpenSSF Model Signing signature was found and the files match its manifest, but no trust material (public key, certificate chain, or identity and issuer) was supplied, so who signed is unknown. Pass trust material to verify the signer.",
    references: [OMS_SPEC],
  },
  {
    id: "integrity/signature-invalid",
    title: "OMS signature does not verify",
    severity: "high",
    description:
      "An OpenSSF Model Signing signature was found but failed verification: it could not be parsed, its cryptographic signature or certificate chain does not verify, the signer does not match the expected identity, or its statement is malformed. The evidence names the stage that failed.",
    references: [OMS_SPEC],
  },
  {
    id: "integrity/signed-file-mismatch",
    title: "File differs from its signed digest",
    severity: "high",
    description:
      "The file is listed in the model's OpenSSF Model Signing manifest with a different digest (or, for shards, a different size). The model was modified after signing.",
    references: [OMS_SPEC],
  },
  {
    id: "integrity/signed-file-missing",
    title: "Signed file is missing",
    severity: "high",
    description:
      "A file listed in the model's OpenSSF Model Signing manifest is absent. Reported against the signature file; the evidence names the missing path.",
    references: [OMS_SPEC],
  },
  {
    id: "integrity/unsigned-file",
    title: "File not covered by the signature",
    severity: "high",
    description:
      "The file is in the model directory but not in its OpenSSF Model Signing manifest (nor ignored by it). Unsigned additions are how a signed model gets a payload; the spec requires verification to fail unless the caller opts into ignoring unsigned files. When a signature is required (`--require-signature` or a policy `signature` section), every scanned file that no verified signature covers gets this finding too: a signature covers only its own model root, so a signed sub-folder never signs the files around it, and a signature whose signer is unknown or not the required one covers nothing.",
    references: [OMS_SPEC],
  },
  {
    id: "integrity/signature-missing",
    title: "Required signature is missing",
    severity: "high",
    description:
      "The scan was told to require an OpenSSF Model Signing signature and none was found in the scanned directory. When signatures are found but do not cover every file, the files left over are `integrity/unsigned-file` instead.",
    references: [OMS_SPEC],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof omsRules)[number]["id"], true> {}
}
