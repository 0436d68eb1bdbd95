/**
 * Rules of the hub area: reading model repositories from the Hugging Face Hub.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** hub rules. */
export const hubRules = [
  {
    id: "hub/integrity-mismatch",
    title: "Served bytes disagree with the pinned commit",
    severity: "high",
    description:
      "What the Hub (or its CDN, a proxy or a mirror) served for a file contradicts the commit the scan pinned: the SHA-256 of the bytes differs from the LFS oid, the git blob SHA-1 differs from the tree's oid, the size differs, or the resolve headers (`X-Linked-Etag`, `X-Linked-Size`, `X-Repo-Commit`) name other content. The bytes analysed are not the bytes the commit names, and a loader may receive either: treat the file as tampered with.",
    references: ["https://huggingface.co/docs/hub/en/storage-backends"],
  },
  {
    id: "hub/upstream-flagged",
    title: "The Hub's own scanners flag the file",
    severity: "info",
    description:
      "Hugging Face's scanners (pickle import scan, antivirus, partner scanners) mark this file `unsafe` or `caution`. Recorded for corroboration only, when the Hub scan status is requested: modelgate's verdict comes from its own analysis, and an upstream `safe` never clears a file.",
    references: ["https://huggingface.co/docs/hub/en/security-pickle"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof hubRules)[number]["id"], true> {}
}
