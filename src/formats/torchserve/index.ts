/**
 * The TorchServe module: model archives made by torch-model-archiver, whose
 * `MAR-INF/MANIFEST.json` names the handler TorchServe imports on load: zips (`.mar`, the default
 * and `zip-store` formats), gzip'ed tars (`--archive-format tgz`, `<model>.tar.gz`, every file under
 * a `<model>/` folder) and plain model directories (`no-archive`, judged by the repository
 * analyzer).
 *
 * Detection: recognises TorchServe archives by their member names (the registry's zip and tar signatures):
 * the manifest torch-model-archiver writes, at the root or under the model's folder.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";

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

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "torchserve-mar": true;
    "torchserve-tar": true;
  }
}

/** A tar MAR: the archiver's manifest at the root or under the model's folder. */
function matchTarMar(names: readonly string[], files: ReadonlySet<string>): boolean {
  return files.has(MANIFEST) || names.some((n) => tarManifestRoot(n) !== undefined);
}

/** A MAR: the archiver's manifest is there, whatever else the archive holds. */
function matchMar(_names: readonly string[], files: ReadonlySet<string>): object | undefined {
  return files.has(MANIFEST) ? {} : undefined;
}

const rules = lazyRules(import.meta.url, "./rules.js", "torchserveRules");

/** TorchServe model archives. */
export const torchserveModule = {
  name: "torchserve",
  formats: [
    {
      id: "torchserve-mar",
      description: "TorchServe model archive (.mar)",
      claimExtensions: ["mar"],
      // Before TorchScript (10): TorchServe reads any archive by its manifest, so a MAR that also
      // holds a `<root>/data.pkl` folder is still loaded (and must be judged) as a MAR; the
      // serialized model is a member and is analysed as what it is.
      zipSignature: { rank: 5, match: matchMar },
    },
    {
      id: "torchserve-tar",
      description: "TorchServe model archive in tar form (torch-model-archiver --archive-format tgz, gzip'ed)",
      // `<model>.tar.gz` decodes to `<model>.tar`: the tar such a name claims may be this flavour of tar.
      claimExtensions: ["tar"],
      // After NeMo (0): a tar holding both a NeMo config and a manifest is named NeMo (its config's
      // instantiations are judged), and the TorchServe tar analyzer still judges the manifest.
      tarSignature: { rank: 5, match: matchTarMar },
    },
  ],
  analyzers: [
    lazyAnalyzer("torchserve", ["zip"], async () => (await import("./analyzer.js")).torchserveAnalyzer),
    lazyAnalyzer("torchserve-tar", ["tar"], async () => (await import("./analyzer.js")).torchserveTarAnalyzer),
  ],
  repoAnalyzers: [
    lazyRepoAnalyzer(
      "torchserve",
      async () => (await import("./repo-analyzer.js")).torchserveRepoAnalyzer,
      // no unpacked archive: no `MAR-INF/MANIFEST.json` among the files
      (ctx) => !ctx.files.some((f) => f.path === MANIFEST || f.path.endsWith(`/${MANIFEST}`)),
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
