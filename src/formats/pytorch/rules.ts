/**
 * Rules of the pytorch area: torch.package archives, archive records PyTorch's zip reader resolves
 * differently from their stored names, and TorchScript mobile flatbuffer modules.
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
  {
    id: "pytorch/record-case-twin",
    title: "PyTorch archive records that differ only in letter case",
    severity: "high",
    description:
      "Two or more members of a PyTorch, TorchScript or torch.package archive have names that differ only in ASCII letter case (`archive/data.pkl` and `archive/DATA.PKL`). PyTorch's zip reader (`PyTorchStreamReader` over miniz) looks records up ignoring case and binary-searches a sorted index, so which twin a loader reads depends on the number and order of the entries, while other zip readers and scanners see two distinct files. High when the record is code or a pickle the loader runs (`data.pkl`, `constants.pkl`, `bytecode.pkl`, `code/`, a module or pickle of a torch.package), medium otherwise (tensor storages, metadata). Every twin is analysed.",
    references: ["https://github.com/pytorch/pytorch/blob/main/caffe2/serialize/inline_container.cc"],
  },
  {
    id: "pytorch/record-name-case",
    title: "PyTorch archive record stored under a name torch never writes",
    severity: "medium",
    description:
      "A record a PyTorch loader reads (`data.pkl`, `constants.pkl`, `bytecode.pkl`, `code/`, `version`, torch.package's `.data/`) is stored under a name that differs in letter case from the one torch writes (`archive/DATA.PKL`, `ARCHIVE/data.pkl` beside an `archive/` root). PyTorch's zip reader finds it anyway (lookups ignore ASCII case); tools that compare names exactly do not. The member is analysed in the role the loader gives it, and the spelling is reported because no PyTorch writer produces it.",
    references: ["https://github.com/pytorch/pytorch/blob/main/caffe2/serialize/inline_container.cc"],
  },
  {
    id: "pytorch/mobile-flatbuffer",
    title: "TorchScript mobile flatbuffer module (not analysed)",
    severity: "high",
    description:
      "The file is a TorchScript mobile module in the flatbuffer format (file identifier `PTMF`, `_save_for_lite_interpreter(..., _use_flatbuffer=True)` or `torch.jit.save_jit_module_to_flatbuffer`). `torch.jit.load` and `torch.jit.mobile._load_for_lite_interpreter` load it under any name and run its TorchScript methods, `__setstate__` among them, while the module is loaded. modelgate does not verify its structure or methods; it lists the operator names it finds as evidence (reporting those that touch the file system), but cannot call it clean.",
    references: ["https://github.com/pytorch/pytorch/blob/main/torch/csrc/jit/serialization/mobile_bytecode.fbs"],
  },
] as const satisfies readonly RuleDef[];
