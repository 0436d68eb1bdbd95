/**
 * Rules of credentials found in model files.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** Credential rules. */
export const secretsRules = [
  {
    id: "secrets/credential",
    title: "Credential in a model file",
    severity: "medium",
    description:
      "An access token or private key (AWS access key, Hugging Face, GitHub, OpenAI, Anthropic, Google, Slack or Stripe token, a PEM private key) appears in a config, a model card, a script, a text file or in model metadata. Whoever downloads the model gets it, and a mirror that republishes the model republishes it. The finding names the kind, the line and the issuer's public prefix with the length; the secret itself is never copied into the report. Revoke the credential and remove it.",
    references: ["https://huggingface.co/docs/hub/security-tokens"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof secretsRules)[number]["id"], true> {}
}
