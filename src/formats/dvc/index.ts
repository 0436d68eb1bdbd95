/**
 * The DVC module: DVC pointer files (`model.pkl.dvc`). A `.dvc` file is YAML whose `outs` list
 * names the artifacts (`path`, with their `md5` or other hash) that `dvc pull` / `dvc checkout`
 * fetch from a remote and write beside it: the model the pointer stands for is not in the scanned
 * tree, and a path outside the folder makes DVC write there. The analyzer reports both, and the
 * `cmd` of a `.dvc` file in DVC's legacy single-stage form (`dvc repro` runs it).
 *
 * Pipeline files are read too: `dvc.yaml` (stages whose `outs` `dvc pull` fetches and whose `cmd`
 * `dvc repro` runs) and `dvc.lock` (the same outputs with their hashes).
 *
 * Detection is by name, as DVC's: every `*.dvc` file, every `Dvcfile` (DVC 1.x-2.x's
 * `DVC_FILE`, loaded as a single stage like a `.dvc` file) and every `dvc.yaml`/`dvc.lock` is
 * DVC's whatever its text shows (DVC collects them by name and runs what they say), so a stage or
 * an output cannot hide behind comments or a long first key; what DVC cannot read is
 * `dvc/malformed`. `dvc.yml` is not a name DVC reads (its `PROJECT_FILE` is `dvc.yaml` only);
 * it is still read as a pipeline here, which reports more than a plain YAML reading would, never
 * less. Empty files stay `empty` (DVC reads them as nothing to do).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";

/** Which pipeline file. */
export type PipelineKind = "dvc.yaml" | "dvc.lock";

/** Whether a base name is a DVC pipeline file, and which. */
export function pipelineKind(name: string): PipelineKind | undefined {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1).toLowerCase();
  if (base === "dvc.yaml" || base === "dvc.yml") return "dvc.yaml";
  return base === "dvc.lock" ? "dvc.lock" : undefined;
}

/** DVC 1.x-2.x's single-stage file name (`DVC_FILE`), matched as DVC's other names are (any case). */
const DVC_FILE = "dvcfile";

/** A DVC file, by its name: a single stage (`.dvc`, `Dvcfile`) or a pipeline file. */
export function dvcFileKind(name: string): PipelineKind | ".dvc" | undefined {
  const path = name.replaceAll("\\", "/");
  const single = extensionOf(path) === "dvc" || path.slice(path.lastIndexOf("/") + 1).toLowerCase() === DVC_FILE;
  return pipelineKind(name) ?? (single ? ".dvc" : undefined);
}

/** A DVC file (see the module comment). */
export const detectDvc: Detector = ({ head, name }) => {
  if (head.length === 0) return undefined;
  const kind = dvcFileKind(name);
  if (kind === undefined) return undefined;
  return { format: "dvc", offset: 0, reason: `DVC ${kind === ".dvc" ? "pointer" : "pipeline"} file (named ${kind})` };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    dvc: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "dvcRules");

/** DVC pointer files. */
export const dvcModule = {
  name: "dvc",
  formats: [
    {
      id: "dvc",
      description: "DVC pointer file (.dvc YAML naming remote artifacts) or pipeline file (dvc.yaml, dvc.lock)",
      textual: true,
      // dvc.yaml is YAML named so: its content being DVC's is no mismatch
      hintExtensions: ["yaml", "yml"],
    },
  ],
  // Before the text detector (190), which would read it as plain YAML-looking text.
  detectors: [{ rank: 188, detect: detectDvc }],
  analyzers: [lazyAnalyzer("dvc", ["dvc"], async () => (await import("./analyzer.js")).dvcAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
