/**
 * The PyTorch module: `torch.save` zip archives (`pytorch-zip`), TorchScript archives
 * (`torchscript`, `torch.jit.save`), legacy checkpoints (`pytorch-legacy`) and the oldest ones,
 * tars of `pickle`, `storages` and `tensors` (`pytorch-tar`, named by the tar analyzer from its
 * members). Their pickles are read by the pickle engine in the `pytorch` / `torchscript` contexts.
 * TorchScript's `code/` members and the lite interpreter's operator table (`bytecode.pkl`) are
 * judged by the pickle module's TorchScript analyzers. torch.package archives (`torch-package`:
 * zips with `.data/version` and `.data/extern_modules`) have their pickles read with
 * PackageImporter's persistent_load, and `package.ts` adds the archive modules they name.
 * Archive records are resolved as PyTorch's zip reader resolves them (`record-names.ts`: entry 0's
 * root, ASCII case ignored); `records.ts` reports case twins and misspelled records. TorchScript
 * mobile flatbuffer modules (`torchscript-mobile`, `PTMF`) are recognised and reported unanalysed.
 *
 * Detection: recognises PyTorch legacy checkpoints (a pickled magic number opens them) and mobile
 * flatbuffer modules (the flatbuffer file identifier `PTMF` at bytes 4–8).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { leadingPickleInt } from "../pickle/head-int.js";
import { torchPackageRoot } from "./package-layout.js";
import { torchRecords } from "./record-names.js";
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

/** TorchScript mobile flatbuffer modules: the file identifier `PTMF` at bytes 4–8, whatever the name. */
export const detectTorchMobile: Detector = ({ head }) =>
  head.length >= 12 && head[4] === 0x50 && head[5] === 0x54 && head[6] === 0x4d && head[7] === 0x46
    ? { format: "torchscript-mobile", offset: 0, reason: "TorchScript mobile flatbuffer identifier PTMF" }
    : undefined;

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "pytorch-zip": true;
    "pytorch-legacy": true;
    "pytorch-tar": true;
    "torch-package": true;
    torchscript: true;
    "torchscript-mobile": true;
  }
}

declare module "../../core/findings.js" {
  // the ids of ./rules.ts are registered rule ids (`RuleId`); declared here, in the file
  // src/entries/registries.ts already imports for this module's formats
  interface RuleRegistry extends Record<(typeof pytorchRules)[number]["id"], true> {}
}

/**
 * Roots of an archive that hold a `data.pkl` as PyTorchStreamReader looks it up (ASCII case
 * ignored): entry 0's root first (the one every loader uses), then other top-level folders, which
 * keep the archive's kind when torch would refuse it.
 */
function archiveRoots(names: readonly string[]): string[] {
  const records = torchRecords(names);
  return records.candidateRoots().filter((root) => records.has("data.pkl", root));
}

/**
 * A TorchScript archive: a root with `data.pkl` and also `code/`, `constants.pkl` or `bytecode.pkl`
 * (the lite interpreter's operator table, `_save_for_lite_interpreter`), names resolved as
 * torch.jit.load and the lite interpreter resolve them.
 */
function matchTorchScript(names: readonly string[]): { archiveRoot: string } | undefined {
  const records = torchRecords(names);
  for (const root of archiveRoots(names)) {
    if (records.has("constants.pkl", root) || records.has("bytecode.pkl", root) || records.hasFolder("code", root)) {
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
        match: (names: readonly string[]) => {
          const root = torchPackageRoot(names);
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
    {
      id: "torchscript-mobile",
      description: "TorchScript mobile flatbuffer module (_save_for_lite_interpreter with _use_flatbuffer)",
    },
  ],
  detectors: [
    { rank: 10, detect: detectTorchLegacy },
    { rank: 126, detect: detectTorchMobile },
  ],
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
    lazyAnalyzer("torch-records", ["zip"], async () => (await import("./records.js")).torchRecordsAnalyzer),
    lazyAnalyzer(
      "torchscript-mobile",
      ["torchscript-mobile"],
      async () => (await import("./mobile.js")).torchMobileAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
