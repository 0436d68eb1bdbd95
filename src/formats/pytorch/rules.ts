/**
 * Rules of the pytorch area: torch.package archives.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** pytorch rules. */
export const pytorchRules = [
  {
    id: "pytorch/package-module-override",
    title: "torch.package pickle names a module the archive provides",
    severity: "high",
    description:
      "A pickle of a torch.package archive (`PackageExporter`) names a global whose top-level module is one of the archive's own Python files. `PackageImporter.load_pickle` resolves globals against the archive's modules first, so loading the pickle imports and runs the archive's code, even under a name that looks like a library (`collections.OrderedDict` with a `collections/__init__.py` in the archive). The modules are analysed as Python files of their own.",
    references: ["https://pytorch.org/docs/stable/package.html"],
  },
] as const satisfies readonly RuleDef[];
