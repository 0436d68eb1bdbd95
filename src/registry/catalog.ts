/**
 * Everything the engine needs to know about formats, derived once from the modules the registry
 * lists ({@link MODULES}): the report's format enum, the sniffer (detectors in rank order, trailer
 * detectors), textual and inert formats, extension hints and claims, zip flavours, pickle
 * contexts, and the analyzers. Nothing here names a format: it is all read from the modules.
 * @module
 */

import type { Analyzer, FormatCatalog, PickleContextName, RepoAnalyzer, SniffInput } from "../core/analyzer.js";
import { archiveNames } from "../core/archive-names.js";
import type { Detection, Format } from "../core/formats.js";
import type { FormatSpec, RankedDetector } from "../core/module.js";
import { extensionOf } from "../core/sniffing.js";
import { MODULES } from "./modules.js";

/** Formats every scan has, whatever the modules: a zero-byte file, and content nothing recognises. */
const ENGINE_FORMATS: readonly FormatSpec[] = [
  { id: "empty", description: "zero-byte file", inert: true, hintExtensions: ["txt", "md", "py"] },
  { id: "unknown", description: "content no module recognises", inert: true },
];

const specs: FormatSpec[] = [...MODULES.flatMap((m): readonly FormatSpec[] => ("formats" in m ? m.formats : []))];
specs.push(...ENGINE_FORMATS); // bounded: a constant list

/** Every format spec by id. */
export const FORMAT_SPECS: ReadonlyMap<Format, FormatSpec> = new Map(specs.map((s) => [s.id, s]));

/**
 * The format ids (the report's `format` enum), sorted so that the order does not depend on the
 * registry's.
 */
export const FORMATS: readonly [Format, ...Format[]] = [...FORMAT_SPECS.keys()].sort() as [Format, ...Format[]];

const detectors: RankedDetector[] = MODULES.flatMap((m): readonly RankedDetector[] =>
  "detectors" in m ? m.detectors : [],
).sort((a, b) => a.rank - b.rank);

/** Detectors in rank order. */
const PRIMARY = detectors.filter((d) => d.trailer !== true).map((d) => d.detect);
/**
 * Detectors of formats that coexist with others in the same bytes (a zip found by its trailer);
 * a match at byte 0 is the primary detection.
 */
const TRAILERS = detectors.filter((d) => d.trailer === true).map((d) => d.detect);

/** Detectors of formats a loader picks by its own test of byte 0 (`RankedDetector.coexist`). */
const COEXIST = detectors.filter((d) => d.coexist !== undefined);

/** Textual formats (no binary container can start inside them). */
export const TEXTUAL: ReadonlySet<Format> = new Set(specs.filter((s) => s.textual === true).map((s) => s.id));

/** Formats that need no analyzer: recognised content with nothing executable in it. */
export const INERT: ReadonlySet<Format> = new Set(specs.filter((s) => s.inert === true).map((s) => s.id));

export { OPAQUE_SNIFF_BYTES } from "../core/sniffing.js";

/**
 * Recognises every format present in the input, primary first. The result is empty when nothing
 * matches (the engine reports such content as `unknown`).
 * @param input - head, tail, size and name of the bytes
 * @param options - `pickle: false` ranks the other candidates (what the bytes are when a
 *   speculative pickle reading fails)
 */
export function sniff(input: SniffInput, options: { pickle?: boolean } = {}): Detection[] {
  if (input.size === 0) return [{ format: "empty", offset: 0, reason: "no bytes" }];
  const detections: Detection[] = [];
  // A trailer format found at byte 0 (a zip's local header) is the primary detection.
  for (const detect of TRAILERS) {
    const found = detect(input);
    if (found !== undefined && found.offset === 0) {
      detections.push(found);
      break;
    }
  }
  for (const detect of PRIMARY) {
    if (detections.length > 0) break;
    const found = detect(input);
    if (found === undefined || (found.format === "pickle" && options.pickle === false)) continue;
    detections.push(found);
  }
  // A format found behind a prefix (an HDF5 superblock after its user block) does not say what the
  // prefix is: loaders that read byte 0 (pickle.load, joblib's compressor prefixes, tarfile) read
  // the prefix as their own format. The bytes from 0 are sniffed again as their own reading.
  const behind = detections[0];
  if (behind !== undefined && behind.offset !== 0) {
    for (const detect of PRIMARY) {
      const found = detect(input);
      if (found === undefined || found.offset !== 0 || found.format === behind.format) continue;
      if (found.format === "pickle" && options.pickle === false) continue;
      detections.push({ ...found, claim: "beside" });
      break;
    }
  }
  // A loader that tests byte 0 for its own format (tarfile in torch.load, joblib's compressor
  // prefixes) reads these bytes that way whatever ranked first: a second reading, beside.
  const first = detections[0];
  if (first !== undefined) {
    for (const { detect, coexist } of COEXIST) {
      if (coexist === "binary" && TEXTUAL.has(first.format)) continue;
      const found = detect(input);
      if (found === undefined || found.offset !== 0 || detections.some((d) => d.format === found.format)) continue;
      detections.push({ ...found, claim: "beside" });
    }
  }
  for (const detect of TRAILERS) {
    const found = detect(input);
    if (found !== undefined && !detections.some((d) => d.format === found.format)) {
      // Found only by its trailer behind other content: both readings are analysed. Text whose
      // every byte the sniffer saw is not combined with a trailer (it cannot hold an EOCD record);
      // text judged by its head alone can end in a zip that Python's zipfile opens.
      const text = detections.length > 0 && TEXTUAL.has(detections[0]!.format);
      if (!text || input.head.length < input.size) detections.push(found);
    }
  }
  return detections;
}

/** Text extensions → the formats they suggest (hints only: `format/extension-mismatch`). */
const HINTS: ReadonlyMap<string, readonly Format[]> = (() => {
  const map = new Map<string, Format[]>();
  for (const spec of specs)
    for (const ext of spec.hintExtensions ?? []) map.set(ext, [...(map.get(ext) ?? []), spec.id]);
  return map;
})();

/**
 * The formats a text extension suggests, or undefined when it suggests nothing (model and container
 * extensions are claims: see `claimForName`).
 * @param name - file or member name
 */
export function expectedFormatsForName(name: string): readonly Format[] | undefined {
  return HINTS.get(extensionOf(name));
}

/** Extensions that claim formats strongly, with the formats that satisfy each. */
export const CLAIM_EXTENSIONS: ReadonlyMap<string, { readonly accepts: readonly Format[]; readonly probe?: Format }> =
  (() => {
    const map = new Map<string, { accepts: Format[]; probe?: Format }>();
    for (const spec of specs) {
      for (const ext of spec.claimExtensions ?? []) {
        const entry = map.get(ext) ?? { accepts: [] };
        for (const id of [spec.id, ...(spec.claimWrappers ?? [])])
          if (!entry.accepts.includes(id)) entry.accepts.push(id);
        if (spec.probe === true) entry.probe = spec.id;
        map.set(ext, entry);
      }
    }
    return map;
  })();

const ZIP_SIGNATURES = specs
  .flatMap((s) => (s.zipSignature === undefined ? [] : [{ format: s.id, ...s.zipSignature }]))
  .sort((a, b) => a.rank - b.rank);

/**
 * What kind of zip an archive is, from its member names: the first zip-based format (by rank)
 * whose member signature matches, else `zip`.
 * @param names - member names (directories may be included)
 */
export function zipFlavor(names: readonly string[]): { readonly format: Format; readonly archiveRoot?: string } {
  return zipFlavors(names)[0] ?? { format: "zip" };
}

/**
 * Every zip-based format whose member signature matches, in rank order: an archive can satisfy
 * several loaders at once (a TorchServe manifest added to a TorchScript archive), and the first
 * one must not hide what the others would run. Cached per archive (see `archiveNames`).
 * @param names - member names (directories may be included)
 * @param archive - the archive they were read from (`ctx.source`): every analyzer of it shares the answer
 */
export function zipFlavors(
  names: readonly string[],
  archive?: object,
): readonly { readonly format: Format; readonly archiveRoot?: string }[] {
  const list = archiveNames(archive, names);
  const cached = FLAVORS.get(list);
  if (cached !== undefined) return cached;
  const files = new Set(list);
  const found: { readonly format: Format; readonly archiveRoot?: string }[] = [];
  for (const signature of ZIP_SIGNATURES) {
    const match = signature.match(list, files);
    if (match === undefined) continue;
    found.push(
      match.archiveRoot === undefined
        ? { format: signature.format }
        : { format: signature.format, archiveRoot: match.archiveRoot },
    );
  }
  FLAVORS.set(list, found);
  return found;
}

/** Flavours by name list (every analyzer of an archive asks with the same list: `archiveNames`). */
const FLAVORS = new WeakMap<readonly string[], readonly { readonly format: Format; readonly archiveRoot?: string }[]>();

const TAR_SIGNATURES = specs
  .flatMap((s) => (s.tarSignature === undefined ? [] : [{ format: s.id, ...s.tarSignature }]))
  .sort((a, b) => a.rank - b.rank);

/** `tar` and the tar-based formats (a NeMo archive is read by `tarfile` like any other tar). */
export const TAR_FORMATS: ReadonlySet<Format> = new Set<Format>(["tar", ...TAR_SIGNATURES.map((s) => s.format)]);

/**
 * What kind of tar an archive is, from its member names: the first tar-based format (by rank)
 * whose member signature matches, else `tar`. A leading `./` (as `tar -C dir .` writes) is ignored.
 * @param names - member names
 */
export function tarFlavor(names: readonly string[]): Format {
  const plain = names.map((n) => n.replace(/^(?:\.\/)+/, ""));
  const files = new Set(plain);
  return TAR_SIGNATURES.find((s) => s.match(plain, files))?.format ?? "tar";
}

const PICKLE_CONTEXTS: ReadonlyMap<Format, { readonly context: PickleContextName; readonly rank: number }> = new Map(
  specs.flatMap((s) => (s.pickleContext === undefined ? [] : [[s.id, s.pickleContext] as const])),
);

/**
 * The pickle context of a pickle inside containers of these formats: the enclosing format with the
 * lowest-ranked context, else plain `pickle`.
 * @param lineage - formats of the enclosing containers, outermost first
 */
export function pickleContextFor(lineage: readonly Format[]): PickleContextName {
  let best: { readonly context: PickleContextName; readonly rank: number } | undefined;
  for (const format of lineage) {
    const context = PICKLE_CONTEXTS.get(format);
    if (context !== undefined && (best === undefined || context.rank < best.rank)) best = context;
  }
  return best?.context ?? "pickle";
}

/** Per-format analyzers, consulted in registry order for each detection. */
export const ANALYZERS: readonly Analyzer[] = MODULES.flatMap((m): readonly Analyzer[] =>
  "analyzers" in m ? m.analyzers : [],
);

/** Analyzers of the scanned tree as a whole, run after every file, in registry order. */
export const REPO_ANALYZERS: readonly RepoAnalyzer<never>[] = MODULES.flatMap((m): readonly RepoAnalyzer<never>[] =>
  "repoAnalyzers" in m ? m.repoAnalyzers : [],
);

/** The catalogue as analyzers see it (`AnalysisContext.formats`). */
export const FORMAT_CATALOG: FormatCatalog = Object.freeze({
  sniff,
  isTextual: (format: Format) => TEXTUAL.has(format),
  zipFlavor,
  zipFlavors,
  tarFlavor,
  pickleContext: pickleContextFor,
});
