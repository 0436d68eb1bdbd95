/**
 * What kind of zip an archive is, from its member names alone.
 * @module
 */

/** The zip-based formats modelgate tells apart. */
export type ZipFlavor = "pytorch-zip" | "torchscript" | "npz" | "keras" | "zip";

/** Result of {@link classifyZip}. */
export interface ZipClassification {
  /** The refined format. */
  readonly format: ZipFlavor;
  /** PyTorch/TorchScript: the top-level folder holding `data.pkl`. */
  readonly archiveRoot?: string;
}

/**
 * Classifies a zip by its member names:
 * - `torchscript`: a top-level folder with `data.pkl` and also `code/` or `constants.pkl`;
 * - `pytorch-zip`: a top-level folder with `data.pkl`;
 * - `npz`: every file member ends with `.npy`;
 * - `keras`: top-level `config.json` plus `metadata.json` and/or `model.weights.h5`;
 * - otherwise `zip`.
 * @param names - member names (directories may be included)
 */
export function classifyZip(names: readonly string[]): ZipClassification {
  const roots = new Set<string>();
  const top = new Set<string>();
  for (const name of names) {
    const slash = name.indexOf("/");
    if (slash < 0) top.add(name);
    else if (name.slice(slash + 1) === "data.pkl") roots.add(name.slice(0, slash));
  }
  if (roots.size > 0) {
    const set = new Set(names);
    let pytorch: string | undefined;
    for (const root of [...roots].sort()) {
      const scripted = set.has(`${root}/constants.pkl`) || names.some((n) => n.startsWith(`${root}/code/`));
      if (scripted) return { format: "torchscript", archiveRoot: root };
      pytorch ??= root;
    }
    if (pytorch !== undefined) return { format: "pytorch-zip", archiveRoot: pytorch };
  }
  const files = names.filter((n) => !n.endsWith("/"));
  if (files.length > 0 && files.every((n) => n.endsWith(".npy"))) return { format: "npz" };
  if (top.has("config.json") && (top.has("metadata.json") || top.has("model.weights.h5"))) return { format: "keras" };
  return { format: "zip" };
}

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
 * (`<root>/data/<key>`) and the small metadata records torch writes.
 * @param name - member name
 * @param archiveRoot - the archive's top-level folder
 */
export function isTorchOpaqueMember(name: string, archiveRoot: string): boolean {
  if (!name.startsWith(`${archiveRoot}/`)) return false;
  const rest = name.slice(archiveRoot.length + 1);
  if (TORCH_METADATA.has(rest)) return true;
  return rest.startsWith("data/") && rest.length > 5 && !rest.slice(5).includes("/");
}
