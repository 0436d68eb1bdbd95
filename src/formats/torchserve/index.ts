/**
 * The TorchServe module: model archives (`.mar`) made by torch-model-archiver, zips whose
 * `MAR-INF/MANIFEST.json` names the handler TorchServe imports on load.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { MANIFEST, torchserveAnalyzer } from "./analyzer.js";
import { torchserveRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "torchserve-mar": true;
  }
}

/** A MAR: the archiver's manifest is there, whatever else the archive holds. */
function matchMar(_names: readonly string[], files: ReadonlySet<string>): object | undefined {
  return files.has(MANIFEST) ? {} : undefined;
}

/** TorchServe model archives. */
export const torchserveModule = {
  name: "torchserve",
  formats: [
    {
      id: "torchserve-mar",
      description: "TorchServe model archive (.mar)",
      claimExtensions: ["mar"],
      // Before TorchScript (10): TorchServe reads any archive by its manifest, so a MAR that also
      // holds a `<root>/data.pkl` folder is still loaded (and must be judged) as a MAR; the
      // serialized model is a member and is analysed as what it is.
      zipSignature: { rank: 5, match: matchMar },
    },
  ],
  analyzers: [torchserveAnalyzer],
  rules: torchserveRules,
} as const satisfies FormatModule;
