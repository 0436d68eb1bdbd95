/**
 * A format module: everything modelgate knows about one format (or container, or integrity check)
 * in one folder: its format ids and how to recognise them, its analyzers and its rules. The
 * registry (`src/registry/modules.ts`) lists the modules, one line each, and derives from them the
 * report's format enum, the sniffer's detectors, the extension hints and claims, the zip flavours,
 * the pickle contexts, the analyzers and the rule registry.
 * @module
 */
import { createRequire } from "node:module";
import type { Analyzer, PickleContextName, RepoAnalyzer, RepoContext, SniffInput } from "./analyzer.js";
import { ModelgateError } from "./errors.js";
import type { Detection, Format } from "./formats.js";
import type { RuleDef } from "./rules.js";

/** Recognises a format (or one of a family) in some bytes. */
export type Detector = (input: SniffInput) => Detection | undefined;

/** A detector and its place in the sniffer's order. */
export interface RankedDetector {
  /**
   * Order among detectors, lowest first: the first that matches is the primary detection. Binary
   * magics come first, pickle before text (protocol 0 pickles are text), text last.
   */
  readonly rank: number;
  /** The detector. */
  readonly detect: Detector;
  /**
   * A trailer detector (a zip found by its end-of-central-directory record): it also runs after
   * the primary detection and adds a second reading of the same bytes (polyglots), except behind
   * textual content. A match at offset 0 is the primary detection whatever the ranks.
   */
  readonly trailer?: boolean;
  /**
   * A format some loader picks by its own test of byte 0, whatever other format the bytes also
   * are (torch.load tries tarfile on every non-zip file before unpickling; joblib routes on
   * compressor prefixes): when another detector ranked first, a match at offset 0 still adds a
   * second reading (`claim: "beside"`). `"binary"`: not beside textual content.
   */
  readonly coexist?: true | "binary";
}

/** What modelgate knows about one format id. */
export interface FormatSpec {
  /** The format id (declared by the module in `FormatRegistry`). */
  readonly id: Format;
  /** One line: what the format is. */
  readonly description: string;
  /** Textual content: no binary container can start inside it, and trailers are not looked for. */
  readonly textual?: boolean;
  /** Nothing in it is analysed (plain text, data JSON): no analyzer is expected for it. */
  readonly inert?: boolean;
  /**
   * Text extensions under which this format is expected (a hint only: another format under such
   * a name is `format/extension-mismatch`).
   */
  readonly hintExtensions?: readonly string[];
  /**
   * Extensions that claim this format strongly: a file so named whose content is none of the
   * formats claiming the extension is `format/claim-unmet` (`invalid`).
   */
  readonly claimExtensions?: readonly string[];
  /**
   * Compressed formats a file named by {@link FormatSpec.claimExtensions} may be wrapped in (R
   * gzips `.rds` by default): they satisfy the claim too, and the decoded member is then checked
   * against it by name.
   */
  readonly claimWrappers?: readonly Format[];
  /**
   * The sniffer cannot recognise every valid stream of this format (LZMA-alone has no magic): a
   * file whose name claims it and whose content nothing else recognises is read as claimed.
   */
  readonly probe?: boolean;
  /**
   * A zip-based format recognised by its member names; signatures are tried by ascending `rank`,
   * the first that matches names the archive's format.
   */
  readonly zipSignature?: {
    readonly rank: number;
    /** The folder holding the format's structure (PyTorch's archive root), or undefined when it does not match. */
    match(names: readonly string[], files: ReadonlySet<string>): { readonly archiveRoot?: string } | undefined;
  };
  /**
   * A tar-based format recognised by its member names (NeMo's `model_config.yaml`); signatures are
   * tried by ascending `rank`, the first that matches names the archive's format.
   */
  readonly tarSignature?: {
    readonly rank: number;
    /** Whether the member names (`./` prefixes removed) are this format's. */
    match(names: readonly string[], files: ReadonlySet<string>): boolean;
  };
  /**
   * The pickle context of pickles inside a container of this format; when several enclosing
   * formats have one, the lowest `rank` wins.
   */
  readonly pickleContext?: { readonly context: PickleContextName; readonly rank: number };
}

/** One folder's contribution to the scanner. */
export interface FormatModule {
  /** The module's name (its folder). */
  readonly name: string;
  /** The format ids it owns. */
  readonly formats?: readonly FormatSpec[];
  /** Its content detectors. */
  readonly detectors?: readonly RankedDetector[];
  /** Analyzers of single files and members, consulted in registry order. */
  readonly analyzers?: readonly Analyzer[];
  /** Analyzers of the scanned tree as a whole, run after every file. */
  readonly repoAnalyzers?: readonly RepoAnalyzer<never>[];
  /**
   * The rules its analyzers report. Modules give them through a getter over {@link lazyRules}, so
   * that a scan that reports nothing does not load them.
   */
  readonly rules?: readonly RuleDef[];
}

/**
 * A module's rules file, loaded the first time its rules are read: `get rules() { return rules(); }`
 * with `const rules = lazyRules(import.meta.url, "./rules.js", "zipRules")`.
 *
 * Rules are read when a finding, a policy or a renderer names one, which a clean scan never does;
 * importing the ~45 rules files with the registry cost about a tenth of a scan's start-up (issue
 * 18). Rule lookups are synchronous (`getRule`), so the file is loaded with `require()`, which
 * loads an ES module synchronously on the Node versions modelgate supports (its rules files have no
 * top-level `await` and import nothing at run time). Run from the TypeScript sources (tests), the
 * `.js` specifier exists as `.ts` and Node strips the types.
 * @param base - `import.meta.url` of the module's `index.ts`
 * @param specifier - the rules file, relative to `base` (`./rules.js`)
 * @param name - the export that holds the rules
 */
export function lazyRules(base: string, specifier: string, name: string): () => readonly RuleDef[] {
  let rules: readonly RuleDef[] | undefined;
  return () => {
    if (rules === undefined) {
      const loaded = requireModule(base, specifier)[name];
      if (!Array.isArray(loaded))
        throw new ModelgateError("INTERNAL", `${specifier} (from ${base}) does not export the rules ${name}`);
      rules = loaded as readonly RuleDef[];
    }
    return rules;
  };
}

function requireModule(base: string, specifier: string): Record<string, unknown> {
  const require = createRequire(base);
  try {
    return require(specifier) as Record<string, unknown>;
  } catch (error) {
    if (
      !base.endsWith(".ts") ||
      !specifier.endsWith(".js") ||
      (error as { code?: unknown }).code !== "MODULE_NOT_FOUND"
    )
      throw error;
    return require(`${specifier.slice(0, -".js".length)}.ts`) as Record<string, unknown>;
  }
}

/**
 * An analyzer whose code is loaded on first use: the registry knows its name and formats (what
 * dispatch needs) without importing its reader and dependencies, so the sniffer, the rules and the
 * format enum cost little to load. `analyze` loads the analyzer once and hands it the context.
 */
export interface LazyAnalyzer extends Analyzer {
  /** Loads the analyzer (once; a failed load is tried again on the next call). */
  load(): Promise<Analyzer>;
}

/** A repository analyzer whose code is loaded the first time it has something to do. */
export interface LazyRepoAnalyzer<S = never> extends RepoAnalyzer<S> {
  /** Loads the analyzer (once; a failed load is tried again on the next call). */
  load(): Promise<RepoAnalyzer<S>>;
  /** Its gate, when it has one (see {@link NothingToDo}). */
  readonly nothingToDo?: NothingToDo<S>;
}

function once<T>(load: () => Promise<T>, check: (loaded: T) => void): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().then(
      (loaded) => {
        check(loaded);
        return loaded;
      },
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    );
    return loading;
  };
}

/**
 * Declares an analyzer of a module without importing it: `name` and `formats` must be the loaded
 * analyzer's (checked when it loads, and by `test/registry/lazy.test.ts` for every module).
 * @param name - the analyzer's name
 * @param formats - the formats it handles (what the engine dispatches on)
 * @param load - imports the analyzer, e.g. `async () => (await import("./analyzer.js")).zipAnalyzer`
 */
export function lazyAnalyzer(name: string, formats: readonly Format[], load: () => Promise<Analyzer>): LazyAnalyzer {
  const get = once(load, (loaded) => {
    if (loaded.name !== name || loaded.formats.join() !== formats.join())
      throw new ModelgateError(
        "INTERNAL",
        `analyzer ${loaded.name} [${loaded.formats.join(", ")}] is registered as ${name} [${formats.join(", ")}]`,
      );
  });
  return {
    name,
    formats,
    load: get,
    async analyze(ctx) {
      const analyzer = await get();
      return analyzer.analyze(ctx);
    },
  };
}

/**
 * Tells, from what a repository analyzer's context shows without reading anything (the listing,
 * the file pass's results, the options), that the analyzer would do nothing on it: no read, no
 * finding, fact, signature or digest. It must be exact or err towards `false`: `true` means the
 * analyzer is not even loaded for this scan. `test/registry/repo-gates.test.ts` runs every module's
 * analyzer on contexts its gate turns away and checks that it does nothing there.
 */
export type NothingToDo<S = never> = (ctx: RepoContext<S>) => boolean;

/**
 * Declares a repository analyzer of a module without importing it (it loads the first time a scan
 * runs it); `name` must be the loaded analyzer's.
 * @param name - the analyzer's name
 * @param load - imports the analyzer
 * @param nothingToDo - optional: recognises scans where the analyzer has nothing to look at, so a
 *   scan of one file does not load the analyzers of whole repositories (start-up, issue 18)
 */
export function lazyRepoAnalyzer<S = never>(
  name: string,
  load: () => Promise<RepoAnalyzer<S>>,
  nothingToDo?: NothingToDo<S>,
): LazyRepoAnalyzer<S> {
  const get = once(load, (loaded) => {
    if (loaded.name !== name)
      throw new ModelgateError("INTERNAL", `repository analyzer ${loaded.name} is registered as ${name}`);
  });
  return {
    name,
    load: get,
    ...(nothingToDo === undefined ? {} : { nothingToDo }),
    async analyze(ctx) {
      if (nothingToDo?.(ctx) === true) return;
      const analyzer = await get();
      return analyzer.analyze(ctx);
    },
  };
}
