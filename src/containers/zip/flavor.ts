/**
 * Members of PyTorch and TorchScript archives that hold opaque data. What kind of zip an archive
 * is comes from the zip-based formats' member signatures (`FormatSpec.zipSignature`, see
 * `zipFlavor` in `src/registry/catalog.ts`). Names are compared as PyTorchStreamReader looks
 * records up (root and record ignoring ASCII case, `src/formats/pytorch/record-names.ts`): the
 * loader reads `ARCHIVE/DATA/0` as the storage `data/0`.
 * @module
 */
import { recordUnder } from "../../formats/pytorch/record-names.js";

const TORCH_METADATA = new Set([
  "version",
  ".format_version",
  ".storage_alignment",
  "byteorder",
  ".data/version",
  ".data/serialization_id",
]);

/**
 * Whether a member of a PyTorch/TorchScript archive is opaque data: tensor storages
 * (`<root>/data/<key>`, `<root>/.data/<key>.storage` in a torch.package) and the small metadata
 * records torch writes.
 * @param name - member name
 * @param archiveRoot - the archive's top-level folder
 * @param flavor - the archive's zip flavour
 */
export function isTorchOpaqueMember(name: string, archiveRoot: string, flavor?: string): boolean {
  const rest = recordUnder(name, archiveRoot);
  if (rest === undefined) return false;
  if (flavor === "torch-package") {
    // what PackageImporter's persistent_load reads for a ("storage", ...) id
    const key = rest.startsWith(".data/") && rest.endsWith(".storage") ? rest.slice(6, -8) : "";
    return key !== "" && !key.includes("/");
  }
  if (TORCH_METADATA.has(rest)) return true;
  return rest.startsWith("data/") && rest.length > 5 && !rest.slice(5).includes("/");
}
