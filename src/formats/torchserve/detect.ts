/**
 * Recognises TorchServe archives by their member names (the registry's zip and tar signatures):
 * the manifest torch-model-archiver writes, at the root or under the model's folder.
 * @module
 */

/** Where torch-model-archiver writes the manifest, relative to the archive's root. */
export const MANIFEST = "MAR-INF/MANIFEST.json";

/**
 * The root a tar member that is a manifest belongs to: `""` for `MAR-INF/MANIFEST.json`, `name/`
 * for `name/MAR-INF/MANIFEST.json` (`--archive-format tgz` puts every file under a folder named
 * after the model), undefined for any other name. A leading `./` is ignored.
 * @param name - a member name
 */
export function tarManifestRoot(name: string): string | undefined {
  const plain = name.replace(/^(?:\.\/)+/, "");
  if (plain === MANIFEST) return "";
  if (!plain.endsWith(`/${MANIFEST}`)) return undefined;
  const root = plain.slice(0, plain.length - MANIFEST.length);
  return root.indexOf("/") === root.length - 1 && root.length > 1 ? root : undefined;
}
