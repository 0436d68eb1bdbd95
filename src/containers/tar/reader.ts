/**
 * Lists a tar archive over a {@link ByteSource}, reading headers and *skipping* member data by
 * offset (model tarballs hold multi-GB tensors: listing a 10 GB tar reads kilobytes; tar-stream
 * would read every byte).
 *
 * Supported: v7, ustar (prefix), GNU (`ustar  `, long names `L`/`K`, base-256 numbers, sparse),
 * pax (`x`, `X` and `g` records: path, linkpath, size, GNU sparse 0.0/0.1/1.0).
 *
 * Two readings: the archive is walked as Python's `tarfile` walks it (`./python-walk.ts`: what
 * NeMo's `extractall` and `torch.load` extract) and as a lenient GNU-tar-like reader walks it
 * (`./lenient-walk.ts`: strict octal numbers after leading blanks, the last metadata record wins,
 * reads on past bad checksums and lone zero blocks). Members of both are listed (the tarfile ones
 * first); where the two disagree on which bytes make a member, `tar/reader-disagreement` makes
 * the file invalid.
 * @module
 */

import { type ByteSource, SliceSource } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { isTraversalName } from "../zip/reader.js";
import { parseTarNumber, parseTarNumberAsPython, tarChecksumMatches } from "./index.js";
import { walkLenient } from "./lenient-walk.js";
import { type PythonMember, walkPython } from "./python-walk.js";
import { SparseSource, sparseSegments } from "./sparse.js";

export { parseTarNumber, parseTarNumberAsPython, tarChecksumMatches };

/** One tar member. */
export interface TarEntry {
  /** Position among the members. */
  readonly index: number;
  /** Effective name (pax path, GNU long name or ustar prefix/name). */
  readonly name: string;
  /** Type flag character (`0` regular, `2` symlink, `5` directory, ...). */
  readonly type: string;
  /** Effective data size (pax size when given). */
  readonly size: number;
  /** Offset of the member's data. */
  readonly dataOffset: number;
  /** Offset of the member's (first) header. */
  readonly headerOffset: number;
  /** Link target for links. */
  readonly linkName: string;
  /** Permission and type bits. */
  readonly mode: number;
  /** Regular-file data (type `0`, `\0`, `7`, `S` or unknown). */
  readonly isFile: boolean;
  /** Sparse map `(offset, numbytes)` of a sparse member (then `size` is its real size). */
  readonly sparse?: readonly (readonly [number, number])[];
  /** Which reading lists the member: Python's `tarfile` (with or without the other) or only the lenient one. */
  readonly reader: "tarfile" | "lenient";
}

/** Budgets of {@link readTar}. */
export interface TarReadOptions {
  /** Maximum members (default 200,000). */
  maxEntries?: number;
  /** Maximum size of one pax or GNU long-name record (default 1 MiB). */
  maxMetaBytes?: number;
  /** Findings kept per rule (default 20). */
  maxFindingsPerRule?: number;
  /** Aborts the walk. */
  signal?: AbortSignal;
}

/** The result of {@link readTar}. */
export interface TarListing {
  /** Members in archive order (pax and GNU metadata records folded into the next member). */
  readonly entries: TarEntry[];
  /** Non-zero bytes after the end-of-archive marker, if any. */
  readonly trailing?: { readonly offset: number; readonly length: number };
  /** True when not every member could be read. */
  readonly incomplete: boolean;
  /** Anomalies. */
  readonly findings: FindingInput[];
}

/** What makes a listed file the same in both readings (sparse members: their header and name). */
function fileKey(e: { headerOffset: number; name: string; dataOffset: number; size: number }, sparse: boolean): string {
  return sparse ? `${e.headerOffset}|${e.name}|S` : `${e.headerOffset}|${e.name}|${e.dataOffset}+${e.size}`;
}

/** Name checks of one member (traversal, links, devices). */
function memberChecks(e: PythonMember, findings: FindingList): void {
  const evidence = { member: e.name };
  if (isTraversalName(e.name)) {
    findings.add({
      ruleId: "container/path-traversal",
      message: `member name ${JSON.stringify(e.name)} escapes the extraction directory`,
      offset: e.headerOffset,
      evidence,
    });
  }
  if (e.type === "1" || e.type === "2") {
    findings.add({
      ruleId: "container/link-member",
      message: `member ${JSON.stringify(e.name)} is a ${e.type === "1" ? "hard" : "symbolic"} link to ${JSON.stringify(e.linkName)}`,
      offset: e.headerOffset,
      evidence: { member: e.name, target: e.linkName, escapes: isTraversalName(e.linkName) },
    });
  }
  if (e.type === "3" || e.type === "4" || e.type === "6") {
    const kind = e.type === "3" ? "character device" : e.type === "4" ? "block device" : "FIFO";
    findings.add({
      ruleId: "tar/special-member",
      message: `member ${JSON.stringify(e.name)} is a ${kind}`,
      offset: e.headerOffset,
      evidence: { member: e.name, kind },
    });
  }
}

/**
 * Lists a tar archive as Python's `tarfile` and as a lenient reader read it (see the module
 * comment). Throws `MALFORMED` only when the first header is not tar for either reading.
 * @param source - the archive
 * @param options - budgets
 */
export async function readTar(source: ByteSource, options: TarReadOptions = {}): Promise<TarListing> {
  const maxEntries = options.maxEntries ?? 200_000;
  const findings = new FindingList(options.maxFindingsPerRule);
  const lenient = await walkLenient(source, options, findings);
  const py = await walkPython(source, {
    maxEntries,
    maxMetaBytes: options.maxMetaBytes ?? 1024 * 1024,
    signal: options.signal,
  });
  const report = (f: FindingInput): void => {
    const member = (f.evidence as { member?: unknown } | undefined)?.member;
    const dup = findings
      .list()
      .some(
        (g) =>
          g.ruleId === f.ruleId &&
          ("offset" in g ? g.offset : undefined) === f.offset &&
          (g.evidence as { member?: unknown } | undefined)?.member === member,
      );
    if (!dup) findings.add(f);
  };
  for (const f of py.findings) report(f);
  let incomplete = lenient.incomplete;
  if (py.fatal !== undefined) {
    incomplete = true;
    report({ ruleId: "tar/malformed", message: `Python's tarfile raises while listing: ${py.fatal}`, offset: 0 });
  }

  const entries: TarEntry[] = [];
  const pyKeys = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of py.members) {
    let size = m.size;
    let sparse = m.sparse;
    if (m.isFile && sparse !== undefined) {
      const { segments, storedEnd, ordered } = sparseSegments(sparse, m.dataOffset);
      if (storedEnd > source.size || !ordered || segments.length > 100_000) {
        report({
          ruleId: "tar/reader-disagreement",
          message: `sparse member ${JSON.stringify(m.name)}: its map ${storedEnd > source.size ? "runs past the end of the file" : "is out of order or overlaps"}; extraction and extractfile() build different files`,
          offset: m.headerOffset,
          evidence: { member: m.name },
        });
      }
    } else if (m.isFile && m.dataOffset + size > source.size) {
      incomplete = true;
      report({
        ruleId: "tar/malformed",
        message: `member ${JSON.stringify(m.name)} (${size} bytes at ${m.dataOffset}) runs past the end of the file (tarfile raises extracting it)`,
        offset: m.headerOffset,
        evidence: { member: m.name },
      });
      size = Math.max(0, source.size - m.dataOffset);
    }
    if (!m.isFile) sparse = undefined;
    memberChecks(m, findings);
    const first = seen.get(m.name);
    if (first === undefined) seen.set(m.name, entries.length);
    else if (m.type !== "5") {
      report({
        ruleId: "tar/duplicate-name",
        message: `member name ${JSON.stringify(m.name)} appears more than once (members ${first} and ${entries.length}); tarfile extracts the last`,
        offset: m.headerOffset,
        evidence: { member: m.name },
      });
    }
    if (m.isFile && (size > 0 || sparse !== undefined)) pyKeys.add(fileKey(m, sparse !== undefined));
    entries.push({
      index: entries.length,
      name: m.name,
      type: m.type,
      size: m.isFile ? size : 0,
      dataOffset: m.dataOffset,
      headerOffset: m.headerOffset,
      linkName: m.linkName,
      mode: m.mode,
      isFile: m.isFile,
      reader: "tarfile",
      ...(sparse === undefined ? {} : { sparse }),
    });
  }
  const lenientKeys = new Set<string>();
  let differ: string | undefined;
  for (const e of lenient.entries) {
    if (!e.isFile || (e.size === 0 && !e.sparseMember)) continue;
    const key = fileKey(e, e.sparseMember);
    lenientKeys.add(key);
    if (pyKeys.has(key)) continue;
    // past where tarfile silently stops (a bad checksum, a zero block: reported by the lenient
    // walk) the members are analysed but are no disagreement on what tarfile extracts
    const hidden = py.fatal === undefined && e.headerOffset >= py.end;
    if (!hidden)
      differ ??= `member ${JSON.stringify(e.name)} (${e.size} bytes at ${e.dataOffset}) is not a file for tarfile`;
    if (entries.length >= maxEntries) continue;
    const { sparseMember: _, ...rest } = e;
    entries.push({ ...rest, index: entries.length, reader: "lenient" });
  }
  if (differ === undefined) {
    for (const e of entries) {
      if (e.reader !== "tarfile" || !e.isFile || (e.size === 0 && e.sparse === undefined)) continue;
      if (lenientKeys.has(fileKey(e, e.sparse !== undefined))) continue;
      differ = `tarfile reads member ${JSON.stringify(e.name)} (${e.size} bytes at ${e.dataOffset}) that a lenient reader does not`;
      break;
    }
  }
  if (py.notTar && lenient.entries.length > 0) {
    differ ??= "Python's tarfile does not read the first header";
  }
  if (differ !== undefined) {
    report({
      ruleId: "tar/reader-disagreement",
      message: `tar readers disagree on the archive's members: ${differ}; the members of both readings were analysed`,
      offset: 0,
    });
  }
  const listing = { entries, incomplete, findings: findings.list() };
  return lenient.trailing === undefined ? listing : { ...listing, trailing: lenient.trailing };
}

/**
 * The bytes a listed member extracts to: a slice of the archive, or the rebuilt file of a sparse
 * member (see `./sparse.ts`).
 * @param source - the archive
 * @param entry - a member of {@link readTar}'s listing
 */
export function tarMemberSource(source: ByteSource, entry: TarEntry): ByteSource {
  if (entry.sparse === undefined) return new SliceSource(source, entry.dataOffset, entry.size);
  const { segments, ordered } = sparseSegments(entry.sparse, entry.dataOffset);
  return new SparseSource(source, segments, ordered, entry.size);
}
