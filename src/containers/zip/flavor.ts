/**
 * Members of PyTorch and TorchScript archives that hold opaque data. What kind of zip an archive
 * is comes from the zip-based formats' member signatures (`FormatSpec.zipSignature`, see
 * `zipFlavor` in `src/registry/catalog.ts`). Names are compared as PyTorchStreamReader looks
 * records up (root and record ignoring ASCII case, `src/formats/pytorch/record-names.ts`): the
 * loader reads `ARCHIVE/DATA/0` as the storage `data/0`.
 *
 * An archive can have several flavours at once (a root `data.pkl` in a torch.package, a TorchServe
 * manifest beside a TorchScript archive): a member is opaque only when every flavour whose loader
 * reads it takes it as raw storage ({@link isOpaqueInEveryFlavor}). `<root>/data/x` is a tensor
 * storage to `torch.load` but a resource or module to torch.package's PackageImporter, which
 * unpickles and imports it: taking one flavour's word left such members unread.
 *
 * Every analyzer of a zip (the zip analyzer, the torch records, TorchServe and skops analyzers)
 * reads the directory itself and asks for the flavours of a fresh list of names: caches keyed by
 * the list (the flavours, PyTorch's record index) missed every time, and 150,000 names were
 * indexed once per analyzer. `archiveNames` (core/archive-names.ts) gives every caller of one
 * archive the same list.
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
 * @param flavor - the archive's zip flavour (torch.save's rules when not given)
 */
export function isTorchOpaqueMember(name: string, archiveRoot: string, flavor?: string): boolean {
  return memberRole(name, { format: flavor ?? "pytorch-zip", archiveRoot }) === "storage";
}

/** Flavours whose loader reads `<root>/data/<key>` as a tensor storage (torch.load, torch.jit.load). */
const TORCH_SAVE_FLAVORS: ReadonlySet<string> = new Set(["pytorch-zip", "torchscript"]);

/** One flavour of an archive, as `zipFlavors` (src/registry/catalog.ts) gives it. */
export interface ZipFlavorMatch {
  readonly format: string;
  readonly archiveRoot?: string;
}

/**
 * How a flavour's loader takes a member: as raw `storage`, `read` as anything else (unpickled,
 * imported, parsed, extracted), or never `unread`.
 */
export type MemberRole = "storage" | "read" | "unread";

/** `.data/<key>.storage`: what PackageImporter's persistent_load reads for a ("storage", ...) id. */
function isPackageStorage(record: string): boolean {
  const key = record.startsWith(".data/") && record.endsWith(".storage") ? record.slice(6, -8) : "";
  return key !== "" && !key.includes("/");
}

/**
 * How one flavour's loader takes a member. PyTorchStreamReader (torch.load, torch.jit.load,
 * PackageImporter) reads records under its root only; torch.load and torch.jit.load look storages
 * up as `data/<key>` and never open a torch.package's `.data/<key>.storage`; PackageImporter reads
 * any other record as a module or resource. Flavours without a root (TorchServe MAR, .npz, Keras,
 * skops) and any flavour not known here read every member.
 * @param name - member name
 * @param flavor - one of the archive's flavours
 */
export function memberRole(name: string, flavor: ZipFlavorMatch): MemberRole {
  const torchSave = TORCH_SAVE_FLAVORS.has(flavor.format);
  if (flavor.archiveRoot === undefined || !(torchSave || flavor.format === "torch-package")) return "read";
  const rest = recordUnder(name, flavor.archiveRoot);
  if (rest === undefined) return "unread";
  if (flavor.format === "torch-package") return isPackageStorage(rest) ? "storage" : "read";
  if (TORCH_METADATA.has(rest)) return "storage";
  if (rest.startsWith("data/") && rest.length > 5 && !rest.slice(5).includes("/")) return "storage";
  return isPackageStorage(rest) ? "unread" : "read";
}

/**
 * Whether a member is opaque data to every loader of the archive: at least one flavour reads it as
 * raw storage and none reads it as anything else ({@link memberRole}). No flavour: not opaque.
 * @param name - member name
 * @param flavors - every flavour of the archive, primary first
 */
export function isOpaqueInEveryFlavor(name: string, flavors: readonly ZipFlavorMatch[]): boolean {
  let storage = false;
  for (const flavor of flavors) {
    const role = memberRole(name, flavor);
    if (role === "read") return false;
    if (role === "storage") storage = true;
  }
  return storage;
}

export { archiveNames } from "../../core/archive-names.js";
