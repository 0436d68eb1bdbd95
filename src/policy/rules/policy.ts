/**
 * Rules of the policy area: requirements a team sets in its policy file, and library versions
 * recorded in model configs.
 * @module
 */
import type { RuleDef } from "./types.js";

/** policy rules. */
export const policyRules = [
  {
    id: "policy/signature-required",
    title: "Model not covered by a verified signature the policy accepts",
    severity: "medium",
    description:
      "The policy requires a signature (`signature` in `.modelgate.json`) and the model is unsigned, its signature did not verify, or the signer, issuer, method or key is not the one the policy names. Reported on every file of the model except the signature itself. Without a verified signature nothing ties the files to the party you trust: a mirror, cache or repository they passed through could have swapped them.",
    references: ["https://github.com/ossf/model-signing-spec"],
  },
  {
    id: "policy/vulnerable-tool-version",
    title: "Config records a library version with known model-loading vulnerabilities",
    severity: "info",
    description:
      "A config file (`config.json` `transformers_version`, Keras `keras_version`, diffusers `_diffusers_version`, sentence-transformers `__version__`) records that the model was written with a library version affected by an advisory in which a crafted model file runs code in the loader. The version says which release the artifact targets; environments still pinned to it are exploitable by files like this one. Informational by default: raise its severity, or set `minimumVersions`, to gate on it. Each finding lists the advisories that apply to its version. Advisories covered: transformers CVE-2023-6730, CVE-2023-7018 (< 4.36.0), CVE-2024-3568 (< 4.38.0), CVE-2024-11392/11393/11394 (< 4.48.0), CVE-2026-4372 (4.56.0 to < 5.3.0); Keras CVE-2024-3660 (< 2.13), CVE-2025-1550 (3.x < 3.9.0), CVE-2025-8747 and CVE-2025-9906 (3.x < 3.11.0), CVE-2025-9905 (3.x < 3.11.3); torch CVE-2025-32434 (< 2.6.0), CVE-2026-24747 (< 2.10.0).",
    references: [
      "https://github.com/advisories/GHSA-37q5-v5qm-c9v8",
      "https://github.com/advisories/GHSA-29pf-2h5f-8g72",
      "https://github.com/advisories/GHSA-48g7-3x6r-xfhp",
      "https://github.com/advisories/GHSA-c9rc-mg46-23w3",
      "https://github.com/advisories/GHSA-53q9-r3pm-6pq6",
      "https://kb.cert.org/vuls/id/253266",
    ],
  },
  {
    id: "policy/tool-version-below-minimum",
    title: "Config records a library version below the policy minimum",
    severity: "medium",
    description:
      "The policy's `minimumVersions` names a minimum for a library, and a config file records an older version (or one that cannot be read as a version). Teams use this to keep models written for vulnerable loader releases out of their registries.",
  },
] as const satisfies readonly RuleDef[];
