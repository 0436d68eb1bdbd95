/**
 * The DVC module: DVC pointer files (`model.pkl.dvc`). A `.dvc` file is YAML whose `outs` list
 * names the artifacts (`path`, with their `md5` or other hash) that `dvc pull` / `dvc checkout`
 * fetch from a remote and write beside it: the model the pointer stands for is not in the scanned
 * tree, and a path outside the folder makes DVC write there. The analyzer reports both.
 *
 * Pipeline files are read too: `dvc.yaml` (stages whose `outs` `dvc pull` fetches and whose `cmd`
 * `dvc repro` runs) and `dvc.lock` (the same outputs with their hashes).
 *
 * Detection: a `.dvc` name on text that shows an `outs` key and a `path` key (block or flow
 * style); a `dvc.yaml`/`dvc.yml`/`dvc.lock` name on text that shows a `stages` or `cmd` key. Other
 * text under those names stays what the text detector says; the YAML is only parsed by the
 * analyzer.
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

/** An `outs` key (block or flow style, quoted or not). */
const OUTS_KEY = /(?:^|[{,\s])["']?outs["']?[ \t]*:/m;
/** A `path` key. */
const PATH_KEY = /(?:^|[{,\s-])["']?path["']?[ \t]*:/m;

/** A `stages` or `cmd` key (dvc.yaml, dvc.lock of either schema). */
const STAGE_KEY = /(?:^|[{,\s])["']?(?:stages|cmd)["']?[ \t]*:/m;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** A DVC pointer file (see the module comment). */
export const detectDvc: Detector = ({ head, name }) => {
  if (head.length === 0 || head.includes(0)) return undefined;
  const pipeline = pipelineKind(name);
  if (pipeline !== undefined) {
    if (!STAGE_KEY.test(utf8.decode(head.subarray(0, 16 * 1024)))) return undefined;
    return { format: "dvc", offset: 0, reason: `DVC pipeline file (${pipeline} with stages)` };
  }
  if (extensionOf(name) !== "dvc") return undefined;
  const text = utf8.decode(head.subarray(0, 16 * 1024));
  if (!OUTS_KEY.test(text) || !PATH_KEY.test(text)) return undefined;
  return { format: "dvc", offset: 0, reason: "DVC pointer file (.dvc with outs/path)" };
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
