/**
 * The layout of torch.package archives (`torch.package.PackageExporter`), kept apart from the
 * analyzer so that the module index (the zip flavour's signature) imports no analysis code.
 * Records are resolved as PyTorchStreamReader resolves them (`./record-names.ts`): PackageImporter
 * reads `.data/extern_modules` (and the reader `.data/version`) through a lookup that ignores ASCII
 * case, so `.DATA/version` is the package's version record.
 * @module
 */
import { torchRecords } from "./record-names.js";

/**
 * The root folder of a torch.package archive (the folder holding `.data/version` and
 * `.data/extern_modules`): entry 0's root first, as the importer takes it.
 * @param names - entry names in central-directory order
 */
export function torchPackageRoot(names: readonly string[]): string | undefined {
  const records = torchRecords(names);
  for (const root of records.candidateRoots()) {
    if (records.has(".data/version", root) && records.has(".data/extern_modules", root)) return root;
  }
  return undefined;
}
