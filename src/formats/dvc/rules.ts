/**
 * Rules of the dvc area: DVC pointer files (`*.dvc`).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DVC_FILES = "https://dvc.org/doc/user-guide/project-structure/dvc-files";

/** dvc rules. */
export const dvcRules = [
  {
    id: "dvc/external-artifact",
    title: "DVC pointer names an artifact that was not scanned",
    severity: "medium",
    description:
      "A `.dvc` file lists an output (`outs: - path, md5`) that `dvc pull` or `dvc checkout` fetches from a DVC remote or cache and writes beside it. The artifact itself is not in the scanned tree, so what loading it does was not established: scan it after fetching it. Evidence names the path and its hash.",
    references: [DVC_FILES],
  },
  {
    id: "dvc/path-traversal",
    title: "DVC output path escapes the folder",
    severity: "high",
    description:
      "An output path of a `.dvc` file (joined to its `wdir`) is absolute, has a drive letter or a URL scheme, or climbs out of the pointer's folder with `..`: `dvc pull`/`dvc checkout` writes the fetched artifact there, outside the project (zip-slip for DVC: it can overwrite any file the user can write).",
    references: [DVC_FILES],
  },
  {
    id: "dvc/malformed",
    title: "DVC pointer file is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The `.dvc` file is not a mapping with an `outs` list of entries that each name a `path`: DVC refuses it, and what it points to was not established.",
    references: [DVC_FILES],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof dvcRules)[number]["id"], true> {}
}
