/**
 * Rules of the remote area: objects read from `https://` URLs and S3 against a pinned digest.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** remote rules. */
export const remoteRules = [
  {
    id: "remote/integrity-mismatch",
    title: "Served bytes disagree with the pinned digest",
    severity: "high",
    invalidates: true,
    description:
      "A remote object (an `https://` URL pinned with `#sha256=` or `pins`, an S3 object with a full-object SHA-256 checksum) was read whole and its SHA-256 differs from the pinned one. The bytes analysed are not the bytes that were reviewed or published, and a loader downloading the same URL may receive either: treat the object as tampered with. The verdict is never cached.",
    references: ["https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof remoteRules)[number]["id"], true> {}
}
