/**
 * The contract between the scan engine and the analyzers it runs: what an analyzer sees of a file
 * ({@link AnalysisContext}) or of the whole scanned tree ({@link RepoContext}). It lives in the
 * leaf so that formats, containers and integrity checks implement it without importing the engine.
 *
 * What an analyzer reads of the policy and of the scan's options is declared by the module that
 * reads it: {@link PolicySections} and {@link ScanSections} are empty here and filled by
 * declaration merging (the pickle module declares `pickle`, the OMS module `signature` ...), and
 * the policy's and the engine's own types are checked to provide them.
 * @module
 */
import type { ByteSource } from "./byte-source.js";
import type { FindingInput } from "./findings.js";
import type { Detection, Format } from "./formats.js";
import type { Limits } from "./limits.js";
import type { RootEntry, ScanRoot } from "./root.js";
import type { Severity, Verdict } from "./severity.js";

/**
 * Sections of the policy in force that analyzers read, each declared by the module that reads it
 * (declaration merging). `PolicyOptions` (`src/policy/policy.ts`) provides them.
 */
export interface PolicySections {
  /** Where the policy came from (a policy file path). */
  readonly source?: string | undefined;
}

/** The policy in force, as analyzers see it. */
export interface PolicyView {
  /** The policy's options (the sections analyzers read). */
  readonly options: Readonly<PolicySections>;
  /** SHA-256 of the policy's canonical JSON. */
  readonly hash: string;
}

/**
 * Options of the scan that repository analyzers read, each declared by the module that reads it
 * (declaration merging). `ScanOptions` (`src/scan/types.ts`) provides them.
 */
export interface ScanSections {
  /** Whether the engine computes `files[].sha256` (default true). */
  readonly hash?: boolean | undefined;
}

/** What the sniffer looks at. */
export interface SniffInput {
  /** The first bytes (up to 64 KiB). */
  readonly head: Uint8Array;
  /** The last bytes (up to 64 KiB + 22, for the zip end-of-central-directory record); may equal `head`. */
  readonly tail: Uint8Array;
  /** Total size of the input. */
  readonly size: number;
  /** File or member name (hint only). */
  readonly name: string;
}

/**
 * The formats the scan knows, derived from the format modules (`src/registry/`), as analyzers
 * may consult them: an analyzer never imports the registry (it sits above them).
 */
export interface FormatCatalog {
  /**
   * Every format recognised in some bytes, primary first (empty when nothing matches).
   * @param input - head, tail, size and name
   * @param options - `pickle: false` ranks the other candidates
   */
  sniff(input: SniffInput, options?: { pickle?: boolean }): Detection[];
  /** Whether a format is textual (no binary container can start inside it). */
  isTextual(format: Format): boolean;
  /**
   * What kind of zip an archive is, from its member names: the zip-based format whose member
   * signature matches first (`zip` when none does), and the folder its signature found.
   * @param names - member names (directories may be included)
   */
  zipFlavor(names: readonly string[]): { readonly format: Format; readonly archiveRoot?: string };
  /**
   * Every zip-based format whose member signature matches, in rank order (empty when none does):
   * a loader of each would read the archive, so what each would run must be analysed.
   * @param names - member names (directories may be included)
   * @param archive - the archive they were read from (`ctx.source`): the answer is computed once per archive
   */
  zipFlavors(
    names: readonly string[],
    archive?: object,
  ): readonly { readonly format: Format; readonly archiveRoot?: string }[];
  /**
   * What kind of tar an archive is, from its member names: the tar-based format whose member
   * signature matches first (`tar` when none does).
   * @param names - member names
   */
  tarFlavor(names: readonly string[]): Format;
  /**
   * The pickle context (allowlist profiles, loader behaviour) of a pickle inside containers of
   * these formats, outermost first.
   */
  pickleContext(lineage: readonly Format[]): PickleContextName;
}

/** What kind of artifact a pickle belongs to; it selects the allowlist profiles. */
export type PickleContextName = "pickle" | "pytorch" | "torchscript" | "numpy" | "joblib";

/** Options for {@link AnalysisContext.scanMember}. */
export interface MemberOptions {
  /** Byte offset of the member's data within the parent, for evidence. */
  offset?: number;
  /**
   * The member is expected to be opaque data (a tensor storage): no `format/unknown` finding when
   * its content is not recognised. Its first `OPAQUE_SNIFF_BYTES` (4 KiB) are still sniffed, so a
   * pickle hidden there is analysed.
   */
  opaqueData?: boolean;
  /** Format the parent says the member has; content still decides. */
  formatHint?: Format;
  /**
   * Container formats the parent also is for this member, besides the format it reports (a zip
   * that is both a TorchServe archive and a TorchScript archive): they join the member's lineage,
   * so the analyses the other loaders call for still run.
   */
  alsoWithin?: readonly Format[];
}

/** What an analyzer sees of the file (or member) it analyses. */
export interface AnalysisContext {
  /** Display path: `dir/file.pt`, or `outer.pt!archive/data.pkl` for a member. */
  readonly path: string;
  /** Last path component (an extension hint only). */
  readonly name: string;
  /** The bytes, guarded by the read budget and abort signal. */
  readonly source: ByteSource;
  /** The first bytes of `source` (up to 64 KiB), already read by the sniffer. */
  readonly head: Uint8Array;
  /**
   * The parent handed the bytes over as opaque data (a tensor storage): `head` is its first 4 KiB
   * and analyzers of incidental formats (text found there) should read no further.
   */
  readonly opaque: boolean;
  /** Every format the sniffer recognised, primary first. */
  readonly detections: readonly Detection[];
  /** The detection this analyzer was chosen for. */
  readonly detection: Detection;
  /** 0 for a top-level file, +1 per enclosing container. */
  readonly depth: number;
  /** Formats of the enclosing containers, outermost first. */
  readonly lineage: readonly Format[];
  /** Budgets. */
  readonly limits: Readonly<Limits>;
  /** The policy in force (the sections analyzers read). */
  readonly policy: PolicyView;
  /** The formats the scan knows (sniffing nested bytes, zip flavours, pickle contexts). */
  readonly formats: FormatCatalog;
  /** Fires on caller abort or when the file's time budget runs out. */
  readonly signal: AbortSignal;
  /** Where the file came from (siblings can be listed and opened through it). */
  readonly root: ScanRoot;
  /** Records a finding against this file or member. */
  report(finding: FindingInput): void;
  /**
   * The severity a finding has before the policy applies: its occurrence severity when it sets
   * one, else its rule's default (from the rule registry).
   */
  severityOf(finding: FindingInput): Severity;
  /** Replaces the primary format once the analyzer knows better (zip → pytorch-zip). */
  refineFormat(format: Format): void;
  /** Records a fact about the model (architecture, tensor count, dtypes ...) for reports and BOMs. */
  fact(key: string, value: unknown): void;
  /**
   * Sniffs and analyses a nested byte stream (container member, decompressed stream, embedded
   * payload) at depth + 1, reported as `path!name`. Enforces the depth budget.
   * @returns the member's verdict
   */
  scanMember(name: string, source: ByteSource, options?: MemberOptions): Promise<Verdict>;
  /** Throws `ABORTED`/`TIMEOUT` when the scan must stop. Call it in long CPU-bound loops. */
  checkpoint(): void;
  /** Counts decompressed bytes against the file's budget; throws `BUDGET_EXCEEDED` past it. */
  chargeDecompressed(bytes: number): void;
}

/** Analyses one format. */
export interface Analyzer {
  /** Name, for errors and diagnostics. */
  readonly name: string;
  /** Formats this analyzer handles. */
  readonly formats: readonly Format[];
  /**
   * Analyses the file or member. Reports findings through the context. May throw a
   * `ModelgateError`: the engine turns it into a finding and marks the file `invalid`.
   */
  analyze(ctx: AnalysisContext): Promise<void>;
}

/** A file of the scan as repository analyzers see it once the file pass is over. */
export interface RepoFile {
  /** POSIX path relative to the scanned directory. */
  readonly path: string;
  /** SHA-256 of the whole file, when the engine computed it. */
  readonly sha256?: string | undefined;
  /** Size in bytes. */
  readonly size: number;
  /** Its primary format. */
  readonly format: Format;
  /** Every format detected in it. */
  readonly formats: readonly Format[];
  /** What it revealed about the model (`files[].facts`). */
  readonly facts?: Readonly<Record<string, unknown>> | undefined;
  /** Its findings so far (rule ids). */
  readonly findings: readonly { readonly ruleId: string }[];
}

/** Digests computed for a file (lowercase hex), as the report's `files[].hashes` records them. */
export interface FileHashes {
  sha256?: string | undefined;
  blake2b?: string | undefined;
  blake3?: string | undefined;
}

/**
 * Context of analyzers that look at the scanned tree as a whole (signatures, repo configs).
 * @typeParam S - what {@link RepoContext.setSignature} records (the OMS verification result)
 */
export interface RepoContext<S = never> {
  /** The root scanned. */
  readonly root: ScanRoot;
  /** Every entry listed. */
  readonly entries: readonly RootEntry[];
  /**
   * Opens a listed file. Small text files the engine already read whole are served from memory,
   * so a repo analyzer does not fetch them twice (it matters for remote roots). Close it after use.
   * Files that failed, timed out or were not reached in the file pass are refused (`IO`), and the
   * open and every read of what it returns obey a deadline of `limits.fileTimeoutMs` (`TIMEOUT`).
   * @param path - a path from {@link RepoContext.entries}
   */
  openFile(path: string): Promise<ByteSource>;
  /** The files analysed so far (read-only view). */
  readonly files: readonly RepoFile[];
  /** Budgets. */
  readonly limits: Readonly<Limits>;
  /** Policy in force. */
  readonly policy: PolicyView;
  /** Caller abort and the scan's deadline (`limits.scanTimeoutMs`). */
  readonly signal: AbortSignal;
  /** The scan's options, as the caller passed them (the sections repository analyzers read). */
  readonly options: Readonly<ScanSections>;
  /**
   * Records a finding against a listed file (`path` from {@link RepoContext.entries}).
   * @param path - the file
   * @param finding - what was found
   */
  report(path: string, finding: FindingInput): void;
  /** Records a fact about a listed file. */
  fact(path: string, key: string, value: unknown): void;
  /** Records the verification of the tree's signature (the report's `signature`). */
  setSignature?(result: S): void;
  /**
   * Adds digests computed for a listed file (the report's `files[].hashes`), for example the
   * BLAKE2b or BLAKE3 digests an OMS verification computed; existing ones are kept.
   * @param path - a path from {@link RepoContext.entries}
   * @param hashes - lowercase hex digests by algorithm
   */
  addHashes?(path: string, hashes: FileHashes): void;
}

/**
 * Analyses the scanned tree as a whole, after every file has been analysed.
 * @typeParam S - what it records through {@link RepoContext.setSignature}
 */
export interface RepoAnalyzer<S = never> {
  /** Name, for errors. */
  readonly name: string;
  /** Runs once per scan. */
  analyze(ctx: RepoContext<S>): Promise<void>;
}
