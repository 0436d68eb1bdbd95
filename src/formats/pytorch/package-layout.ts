/**
 * The layout of torch.package archives (`torch.package.PackageExporter`), kept apart from the
 * analyzer so that the module index (the zip flavour's signature) imports no analysis code.
 * @module
 */

/** The root folder of a torch.package archive (the folder holding `.data/version` and `.data/extern_modules`). */
export function torchPackageRoot(files: ReadonlySet<string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    if (!name.endsWith("/.data/version")) continue;
    const root = name.slice(0, -"/.data/version".length);
    if (root !== "" && !root.includes("/") && files.has(`${root}/.data/extern_modules`)) return root;
  }
  return undefined;
}
