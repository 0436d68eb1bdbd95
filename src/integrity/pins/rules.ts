/**
 * Rules of pinned digests and lock files.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** Pin and lock-file rules. */
export const pinRules = [
  {
    id: "integrity/pin-mismatch",
    title: "File differs from its pinned digest",
    severity: "high",
    description:
      "The file's SHA-256 differs from the digest pinned for it (`scan` expected digests or a `modelgate lock` file). The bytes are not the ones that were reviewed: the file was replaced, tampered with or updated without re-locking.",
  },
  {
    id: "integrity/pin-missing",
    title: "Pinned file is missing",
    severity: "high",
    description:
      "A file listed in the pins or lock file is absent from the scanned tree. A model missing a reviewed file may load different code or weights (a fallback path, a remote download). Reported against the lock file when it is in the tree, else against the first file listed; the evidence names the missing path.",
  },
  {
    id: "integrity/pin-unexpected",
    title: "File not covered by the pins",
    severity: "high",
    description:
      "The scanned tree holds a file the pins or lock file do not list. Added files (a new `.py` module, an extra pickle) are how a reviewed model gets a payload; allow them explicitly with `allowUnpinned`.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof pinRules)[number]["id"], true> {}
}
