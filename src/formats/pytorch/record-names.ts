/**
 * How PyTorch's own zip reader (`PyTorchStreamReader` over miniz, torch 1.13 and later) finds the
 * records of an archive, so that every place modelgate decides a member's role (`data.pkl`,
 * `constants.pkl`, `bytecode.pkl`, `code/`, `.data/`, `version` ...) resolves names as the loader
 * does, not by exact string equality:
 *
 * - the archive root is the first central-directory entry's name up to its first `/` (an entry 0
 *   without a `/` makes every loader refuse the archive);
 * - a record `name` is looked up as `<root>/<name>` with `mz_zip_reader_locate_file` and no flags:
 *   the whole path, root included, is compared ignoring ASCII case (`MZ_TOLOWER`; other bytes as
 *   they are), so `archive/DATA.PKL` and `ARCHIVE/data.pkl` are both `data.pkl`;
 * - when several entries match (case twins, or the same name twice) miniz binary-searches a
 *   heap-sorted index: which one it returns depends on the number and positions of the entries
 *   (checked with torch 1.13: first, last and middle twins each win for some layouts), so the
 *   record is ambiguous and every twin is what the loader may read.
 *
 * `getAllRecords` (torch.load's TorchScript check, torch.package's module tree) compares the root
 * case-sensitively and lists names as stored; {@link TorchRecords.resolve} and {@link recordUnder} are the lookup view.
 * The helper imports nothing so that format signatures and analyzers can share it.
 * @module
 */

/** Lower-cases ASCII letters only, as miniz's `MZ_TOLOWER` does. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Most entries indexed (archives past it are indexed for their first entries only). */
const MAX_INDEXED = 1_000_000;

/** The records of one archive as PyTorchStreamReader resolves them. */
export class TorchRecords {
  /** The root folder as entry 0 spells it, undefined when entry 0 has no `/`. */
  readonly root: string | undefined;
  /** Lower-cased full name → the entry names that match it, in directory order. */
  private readonly index = new Map<string, string[]>();
  private readonly names: readonly string[];
  /** The index's keys in code-unit order, for {@link hasFolder} (built on first use). */
  private sorted: string[] | undefined;
  /** {@link candidateRoots}, found on first use. */
  private roots: string[] | undefined;

  /** @param names - entry names in central-directory order */
  constructor(names: readonly string[]) {
    this.names = names;
    const first = names[0];
    const slash = first === undefined ? -1 : first.indexOf("/");
    this.root = first === undefined || slash < 0 ? undefined : first.slice(0, slash);
    const n = Math.min(names.length, MAX_INDEXED);
    for (let i = 0; i < n; i++) {
      const name = names[i] as string;
      const key = asciiLower(name);
      const list = this.index.get(key);
      if (list === undefined) this.index.set(key, [name]);
      else if (list.length < 64) list.push(name);
    }
  }

  /** Roots to try: entry 0's root first, then other top-level folders (archives torch refuses). */
  candidateRoots(): string[] {
    // every zip signature asks: the names are walked once
    this.roots ??= this.findRoots();
    return [...this.roots];
  }

  private findRoots(): string[] {
    const roots = new Map<string, string>();
    if (this.root !== undefined) roots.set(asciiLower(this.root), this.root);
    const others: string[] = [];
    for (const name of this.names) {
      const slash = name.indexOf("/");
      if (slash <= 0) continue;
      const root = name.slice(0, slash);
      const key = asciiLower(root);
      if (roots.has(key)) continue;
      roots.set(key, root);
      others.push(root);
      if (roots.size > 1000) break;
    }
    return [...(this.root === undefined ? [] : [this.root]), ...others.sort()];
  }

  /** Every entry a lookup of `<root>/<record>` may return (empty: not found). */
  resolve(record: string, root: string | undefined = this.root): readonly string[] {
    if (root === undefined) return [];
    return this.index.get(asciiLower(`${root}/${record}`)) ?? [];
  }

  /** Whether `<root>/<record>` is found. */
  has(record: string, root: string | undefined = this.root): boolean {
    return this.resolve(record, root).length > 0;
  }

  /**
   * Whether some entry lies under `<root>/<folder>/` (compared as lookups are). The lower-cased
   * names are sorted once (on the first call): the names under a prefix are the run of sorted
   * names that starts where the prefix would be inserted, so each call is a binary search (a
   * scan of every name per call took 5 s for 1,000 candidate roots of a 150,000-entry archive).
   */
  hasFolder(folder: string, root: string | undefined = this.root): boolean {
    if (root === undefined) return false;
    const prefix = asciiLower(`${root}/${folder}/`);
    this.sorted ??= [...this.index.keys()].sort();
    const keys = this.sorted;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    // the folder's own entry (`<root>/<folder>/`) sorts first; the next name decides
    if (keys[lo] === prefix) lo++;
    return keys[lo]?.startsWith(prefix) === true;
  }

  /** Groups of entries a single lookup cannot tell apart (names equal but for ASCII case, or equal). */
  ambiguous(max = 100): string[][] {
    const out: string[][] = [];
    for (const list of this.index.values()) {
      if (list.length > 1 && out.length < max) out.push(list);
    }
    return out;
  }
}

/**
 * The record name of `name` under `root` as a lookup sees it (lower-cased ASCII, root compared
 * ignoring case), or undefined when the entry is not under the root.
 * @param name - entry name
 * @param root - the archive root
 */
export function recordUnder(name: string, root: string): string | undefined {
  if (name.length <= root.length || name[root.length] !== "/") return undefined;
  if (asciiLower(name.slice(0, root.length)) !== asciiLower(root)) return undefined;
  return asciiLower(name.slice(root.length + 1));
}

/**
 * A member's base name compared as a record name: ASCII case ignored, and the `#<index>` the zip
 * analyzer appends to a repeated name dropped (both entries are what a lookup may return).
 * @param base - the member's base name
 */
export function recordBase(base: string): string {
  return asciiLower(base.replace(/#\d+$/, ""));
}

const CACHE = new WeakMap<readonly string[], TorchRecords>();

/** The {@link TorchRecords} of a name list (cached per list: every zip signature asks for it). */
export function torchRecords(names: readonly string[]): TorchRecords {
  let records = CACHE.get(names);
  if (records === undefined) {
    records = new TorchRecords(names);
    CACHE.set(names, records);
  }
  return records;
}
