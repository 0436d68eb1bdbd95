/**
 * Rules of the dvc area: DVC pointer files (`*.dvc`) and pipeline files (`dvc.yaml`, `dvc.lock`).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DVC_FILES = "https://dvc.org/doc/user-guide/project-structure/dvc-files";
const DVC_YAML = "https://dvc.org/doc/user-guide/project-structure/dvcyaml-files";

/** dvc rules. */
export const dvcRules = [
  {
    id: "dvc/external-artifact",
    title: "DVC pointer names an artifact that was not scanned",
    severity: "medium",
    description:
      "A `.dvc` file lists an output (`outs: - path, md5`) that `dvc pull` or `dvc checkout` fetches from a DVC remote or cache and writes beside it; a `dvc.yaml` stage lists outputs (`outs`, `metrics`, `plots`, unless `cache: false`) and `dvc.lock` records them with their hashes, which `dvc pull` fetches the same way (and `dvc repro` writes). The artifact itself is not in the scanned tree, so what loading it does was not established: scan it after fetching it. Evidence names the path, its hash and, for pipeline files, the stage.",
    references: [DVC_FILES, DVC_YAML],
  },
  {
    id: "dvc/path-traversal",
    title: "DVC output path escapes the folder",
    severity: "high",
    description:
      "An output path of a `.dvc` file, or of a `dvc.yaml`/`dvc.lock` stage (joined to its `wdir`), is absolute or a UNC path, starts with a drive letter, a URL or URI scheme (`s3://`, `file:`) or `~`, or climbs out of the file's folder with `..`: `dvc pull`/`dvc checkout` (or `dvc repro`) writes the artifact there, outside the project (zip-slip for DVC: it can overwrite any file the user can write).",
    references: [DVC_FILES, DVC_YAML],
  },
  {
    id: "dvc/stage-command",
    title: "DVC pipeline stage runs a shell command",
    severity: "low",
    description:
      "A `dvc.yaml` or `dvc.lock` stage, or a `.dvc` file or `Dvcfile` (DVC's single-stage form), has a `cmd` (a string or a list): `dvc repro` (and `dvc exp run`) runs it in a shell. Loading the model does not run it, but reproducing the pipeline does, with the user's rights, and what it runs (scripts, downloads) was not established by this scan. Evidence names the stage and the command. Severity is `medium` when the command fetches or decodes code and runs it (`curl … | sh`, a download saved then run, `base64 -d | sh`, anything piped into a bare shell, `sh -c \"$(…)\"`, `bash <(…)`, `eval`, `/dev/tcp`, inline interpreter code that downloads or executes), when a `dvc.yaml` command is built from parameters whose values are not in the file (templates reading `params.yaml`, other vars files; inline `vars` and `foreach`/`matrix` items are substituted and the result judged), or when commands were left unsearched past the search budget. Every command of every stage is judged.",
    references: [DVC_YAML],
  },
  {
    id: "dvc/malformed",
    title: "DVC file is malformed or was not read whole",
    severity: "medium",
    invalidates: true,
    description:
      "A file DVC reads by its name (`*.dvc`, `Dvcfile`, `dvc.yaml`, `dvc.lock`) that DVC refuses or that was not read whole: not YAML, several YAML documents, an alias naming no anchor, a mapping key that cannot be read (a collection, or an alias of one; an alias of a scalar is read as that key, as ruamel reads it), a `.dvc` file that is not a mapping or whose `outs` is not a list of entries that each name a `path`, a `dvc.yaml`/`dvc.lock` file whose `stages` is not a mapping of stage mappings, or a file whose aliases and merge keys expand past the analysis budget (DVC reads it whole), or more outputs than the analysis examines. What it points to or runs was not established.",
    references: [DVC_FILES, DVC_YAML],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof dvcRules)[number]["id"], true> {}
}
