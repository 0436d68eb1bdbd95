/**
 * The PyTorch module: `torch.save` zip archives (`pytorch-zip`), TorchScript archives
 * (`torchscript`, `torch.jit.save`), legacy checkpoints (`pytorch-legacy`) and the oldest ones,
 * tars of `pickle`, `storages` and `tensors` (`pytorch-tar`, named by the tar analyzer from its
 * members). Their pickles are read by the pickle engine in the `pytorch` / `torchscript` contexts.
 * TorchScript's `code/` members and the lite interpreter's operator table (`bytecode.pkl`) are
 * judged by the pickle module's TorchScript analyzers. torch.package archives (`torch-package`:
 * zips with `.data/version` and `.data/extern_modules`) have their pickles read with
 * PackageImporter's persistent_load, and `package.ts` adds the archive modules they name.
 *
 * Detection: recognises PyTorch legacy checkpoints (a pickled magic number opens them).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { leadingPickleInt } from "../pickle/head-int.js";
import { torchPackageRoot } from "./package-layout.js";
import type { pytorchRules } from "./rules.js";

/**
 * PyTorch legacy files open with a pickled magic number 0x1950a86a20f9469cfc6c: `torch.save` writes
 * it as LONG1, but `torch.load` only compares the value the first pickle yields, so any spelling of
 * the int (a protocol 0 `L` line, LONG4, memo puts around it ...) is one.
 */
const TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export const detectTorchLegacy: Detector = ({ head }) =>
  leadingPickleInt(head) === TORCH_LEGACY_MAGIC
    ? { format: "pytorch-legacy", offset: 0, reason: "pickled PyTorch legacy magic number" }
    : undefined;

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "pytorch-zip": true;
    "pytorch-legacy": true;
    "pytorch-tar": true;
    "torch-package": true;
    torchscript: true;
  }
}

declare module "../../core/findings.js" {
  // the ids of ./rules.ts are registered rule ids (`RuleId`); declared here, in the file
  // src/entries/registries.ts already imports for this module's formats
  interface RuleRegistry extends Record<(typeof pytorchRules)[number]["id"], true> {}
}

/** Top-level folders of an archive that hold a `data.pkl`, sorted. */
function archiveRoots(names: readonly string[]): string[] {
  const roots = new Set<string>();
  for (const name of names) {
    const slash = name.indexOf("/");
    if (slash >= 0 && name.slice(slash + 1) === "data.pkl") roots.add(name.slice(0, slash));
  }
  return [...roots].sort();
}

/**
 * A TorchScript archive: a root with `data.pkl` and also `code/`, `constants.pkl` or `bytecode.pkl`
 * (the lite interpreter's operator table, `_save_for_lite_interpreter`).
 */
function matchTorchScript(names: readonly string[], files: ReadonlySet<string>): { archiveRoot: string } | undefined {
  for (const root of archiveRoots(names)) {
    if (
      files.has(`${root}/constants.pkl`) ||
      files.has(`${root}/bytecode.pkl`) ||
      names.some((n) => n.startsWith(`${root}/code/`))
    ) {
      return { archiveRoot: root };
    }
  }
  return undefined;
}

/** A `torch.save` archive: a root with `data.pkl`. */
function matchPytorchZip(names: readonly string[]): { archiveRoot: string } | undefined {
  const [root] = archiveRoots(names);
  return root === undefined ? undefined : { archiveRoot: root };
}

const rules = lazyRules(import.meta.url, "./rules.js", "pytorchRules");

/** PyTorch and TorchScript files. */
export const pytorchModule = {
  name: "pytorch",
  formats: [
    {
      id: "pytorch-zip",
      description: "torch.save zip archive",
      claimExtensions: ["zip"],
      zipSignature: { rank: 20, match: matchPytorchZip },
      pickleContext: { context: "pytorch", rank: 1 },
    },
    {
      id: "pytorch-legacy",
      description: "legacy torch.save checkpoint (pickles in sequence)",
      pickleContext: { context: "pytorch", rank: 1 },
    },
    {
      id: "pytorch-tar",
      description: "legacy torch.save tar checkpoint (members pickle, storages, tensors)",
      // a `.tar` name is what these are usually saved under (`torch.load("ckpt.tar")`)
      claimExtensions: ["tar"],
      // torch's legacy_load extracts `storages` and `tensors`, then unpickles `pickle` with its
      // persistent_load (a tar without them fails before that)
      tarSignature: {
        rank: 1,
        match: (_names: readonly string[], files: ReadonlySet<string>) =>
          files.has("pickle") && files.has("storages") && files.has("tensors"),
      },
      pickleContext: { context: "pytorch", rank: 1 },
    },
    {
      id: "torch-package",
      description: "torch.package archive (PackageExporter)",
      claimExtensions: ["zip"],
      // a root folder with `.data/version` and `.data/extern_modules`; its pickles are read with
      // PackageImporter's persistent_load (storages, `reduce_package` calls)
      zipSignature: {
        rank: 30,
        match: (names: readonly string[], files: ReadonlySet<string>) => {
          const root = torchPackageRoot(files, names);
          return root === undefined ? undefined : { archiveRoot: root };
        },
      },
      pickleContext: { context: "pytorch", rank: 1 },
    },
    {
      id: "torchscript",
      description: "TorchScript archive (torch.jit.save)",
      claimExtensions: ["zip"],
      zipSignature: { rank: 10, match: matchTorchScript },
      pickleContext: { context: "torchscript", rank: 0 },
    },
  ],
  detectors: [{ rank: 10, detect: detectTorchLegacy }],
  analyzers: [
    lazyAnalyzer(
      "pytorch-legacy",
      ["pytorch-legacy"],
      async () => (await import("./analyzer.js")).pytorchLegacyAnalyzer,
    ),
    lazyAnalyzer(
      "torchscript-code",
      ["python"],
      async () => (await import("../pickle/analyzer.js")).torchscriptCodeAnalyzer,
    ),
    lazyAnalyzer(
      "torchscript-bytecode",
      ["pickle"],
      async () => (await import("../pickle/analyzer.js")).torchscriptBytecodeAnalyzer,
    ),
    lazyAnalyzer("torch-package", ["zip"], async () => (await import("./package.js")).torchPackageAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
