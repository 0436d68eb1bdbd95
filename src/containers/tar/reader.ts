/**
 * A random-access tar header walker over a {@link ByteSource}.
 *
 * Why not tar-stream: it is a push stream that reads every byte of every member to get to the
 * next header. Model tarballs (`.nemo`, `.tar` checkpoints) hold multi-GB tensors; this walker
 * reads the 512-byte headers (batched through a window for small members) and *skips* member
 * data by offset, so listing a 10 GB tar reads kilobytes. It also stays tolerant where strict
 * readers stop (bad checksums, lone zero blocks, unknown types) and records each such spot as a
 * finding, because what one tar reader skips another may extract.
 *
 * Supported: v7, ustar (prefix), GNU (`ustar  `, long names `L`/`K`, base-256 numbers), pax
 * (`x` and `g` records: path, linkpath, size). Sparse members are reported and their stored
 * bytes handed on as they are.
 * @module
 */

import { type ByteSource, readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { isTraversalName } from "../zip/reader.js";
import { headerChecksums, parseTarNumber, parseTarNumberAsPython, tarChecksumMatches } from "./index.js";

export { parseTarNumber, parseTarNumberAsPython, tarChecksumMatches };

const BLOCK = 512;

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
  /** Regular-file data (type `0`, `\0`, `7` or unknown). */
  readonly isFile: boolean;
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

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function cString(b: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && b[end] !== 0) end++;
  const bytes = b.subarray(start, end);
  return bytes.every((c) => c < 0x80) ? latin1.decode(bytes) : utf8.decode(bytes);
}

/** Parses pax extended header records (`"<len> <key>=<value>\n"`). */
function parsePax(data: Uint8Array): { records: Map<string, string>; malformed: boolean } {
  const records = new Map<string, string>();
  let p = 0;
  let malformed = false;
  while (p < data.length) {
    if (data[p] === 0) break;
    let q = p;
    let len = 0;
    while (q < data.length && (data[q] as number) >= 0x30 && (data[q] as number) <= 0x39 && q - p < 12) {
      len = len * 10 + ((data[q] as number) - 0x30);
      q++;
    }
    if (q === p || data[q] !== 0x20 || len <= q - p + 1 || p + len > data.length || data[p + len - 1] !== 0x0a) {
      malformed = true;
      break;
    }
    const record = utf8.decode(data.subarray(q + 1, p + len - 1));
    const eq = record.indexOf("=");
    if (eq <= 0) malformed = true;
    else records.set(record.slice(0, eq), record.slice(eq + 1));
    p += len;
  }
  return { records, malformed };
}

/** Serves header reads from a larger window so archives of small members need few reads. */
class Blocks {
  readonly #source: ByteSource;
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);

  constructor(source: ByteSource) {
    this.#source = source;
  }

  /** `length` bytes at `offset`; a miss reads `prefetch` bytes so small members' headers share reads. */
  async get(offset: number, length: number, prefetch = length): Promise<Uint8Array> {
    if (offset >= this.#start && offset + length <= this.#start + this.#bytes.length) {
      return this.#bytes.subarray(offset - this.#start, offset - this.#start + length);
    }
    this.#start = offset;
    this.#bytes = await readClamped(this.#source, offset, Math.max(length, prefetch));
    return this.#bytes.subarray(0, Math.min(length, this.#bytes.length));
  }
}

const DATA_TYPES = new Set(["0", "\0", "7"]);
const KNOWN_TYPES = new Set(["0", "\0", "1", "2", "3", "4", "5", "6", "7", "x", "g", "L", "K", "S", "V", "D", "M"]);

/**
 * Walks a tar archive's headers. Throws `MALFORMED` only when the first header is not tar at all;
 * later damage ends the walk with a finding.
 * @param source - the archive
 * @param options - budgets
 */
export async function readTar(source: ByteSource, options: TarReadOptions = {}): Promise<TarListing> {
  const maxEntries = options.maxEntries ?? 200_000;
  const maxMeta = options.maxMetaBytes ?? 1024 * 1024;
  const findings = new FindingList(options.maxFindingsPerRule);
  const blocks = new Blocks(source);
  const entries: TarEntry[] = [];
  const seen = new Map<string, number>();
  const size = source.size;
  let pos = 0;
  let incomplete = false;
  let ended = false;
  let trailing: { offset: number; length: number } | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  const globalPax = new Map<string, string>();
  let headers = 0;
  let lastDataBytes = Number.POSITIVE_INFINITY; // first header: no read-ahead yet

  const malformed = (message: string, offset: number): void => {
    incomplete = true;
    findings.add({ ruleId: "tar/malformed", message, offset });
  };

  while (pos < size) {
    if ((++headers & 0xff) === 0) options.signal?.throwIfAborted();
    if (pos + BLOCK > size) {
      malformed(`${size - pos} bytes at the end do not form a whole header block`, pos);
      break;
    }
    // After a small member the next headers are likely close: read ahead; after a large one, don't.
    const h = await blocks.get(pos, BLOCK, lastDataBytes < 32 * 1024 ? 64 * 1024 : 2 * BLOCK);
    if (h.every((c) => c === 0)) {
      const next = pos + BLOCK + BLOCK <= size ? await blocks.get(pos + BLOCK, BLOCK) : undefined;
      if (next === undefined || next.every((c) => c === 0)) {
        ended = true;
        pos += 2 * BLOCK;
        break;
      }
      findings.add({
        ruleId: "tar/header-anomaly",
        message: `lone zero block at ${pos}: strict readers stop here, others read on`,
        offset: pos,
      });
      pos += BLOCK;
      continue;
    }
    const stored = parseTarNumber(h, 148, 8);
    const sums = headerChecksums(h);
    const magic = latin1.decode(h.subarray(257, 263));
    const ustar = magic === "ustar\0";
    const gnu = magic === "ustar " && h[263] === 0x20;
    if (!tarChecksumMatches(h)) {
      if (entries.length === 0 && !ustar && !gnu) {
        throw new ModelgateError("MALFORMED", "not a tar archive: bad header checksum", { offset: pos });
      }
      findings.add({
        ruleId: "tar/checksum-mismatch",
        message: `header at ${pos} has checksum ${Number.isNaN(stored) ? "(not a number)" : stored}, computed ${sums.unsigned}`,
        offset: pos,
      });
      if (!ustar && !gnu) {
        malformed(`unreadable header at ${pos}`, pos);
        break;
      }
    }
    const type = String.fromCharCode(h[156] as number);
    let headerSize = parseTarNumber(h, 124, 12);
    if (Number.isNaN(headerSize) || headerSize < 0) {
      malformed(`header at ${pos} has an invalid size field`, pos);
      break;
    }
    const dataStart = pos + BLOCK;
    const blocksOf = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

    // Metadata records that apply to the next member.
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (headerSize > maxMeta) {
        throw new ModelgateError("BUDGET_EXCEEDED", `tar metadata record of ${headerSize} bytes at ${pos}`, {
          offset: pos,
          budget: "maxMetaBytes",
        });
      }
      if (dataStart + headerSize > size) {
        malformed(`metadata record at ${pos} runs past the end of the file`, pos);
        break;
      }
      const data = await readClamped(source, dataStart, headerSize);
      if (type === "L" || type === "K") {
        const value = cString(data, 0, data.length);
        if (type === "L") longName = value;
        else longLink = value;
      } else {
        const parsed = parsePax(data);
        if (parsed.malformed) {
          findings.add({ ruleId: "tar/header-anomaly", message: `malformed pax record at ${pos}`, offset: pos });
        }
        if (type === "g") {
          for (const [k, v] of parsed.records) globalPax.set(k, v);
          if (parsed.records.has("path") || parsed.records.has("size")) {
            findings.add({
              ruleId: "tar/header-anomaly",
              message: `global pax header at ${pos} sets ${parsed.records.has("path") ? "path" : "size"} for every later member`,
              offset: pos,
            });
          }
        } else {
          pax = parsed.records;
        }
      }
      pos = dataStart + blocksOf(headerSize);
      continue;
    }

    const fields = new Map([...globalPax, ...pax]);
    let name = cString(h, 0, 100);
    if (ustar) {
      const prefix = cString(h, 345, 155);
      if (prefix.length > 0) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    const paxPath = fields.get("path");
    if (paxPath !== undefined) name = paxPath;
    let linkName = longLink ?? cString(h, 157, 100);
    const paxLink = fields.get("linkpath");
    if (paxLink !== undefined) linkName = paxLink;
    const paxSize = fields.get("size");
    let size2 = headerSize;
    if (paxSize !== undefined) {
      const n = /^[0-9]{1,16}$/.test(paxSize) ? Number(paxSize) : Number.NaN;
      if (Number.isNaN(n)) {
        findings.add({
          ruleId: "tar/header-anomaly",
          message: `invalid pax size ${JSON.stringify(paxSize)}`,
          offset: pos,
        });
      } else {
        if (headerSize !== 0 && n !== headerSize) {
          findings.add({
            ruleId: "tar/header-anomaly",
            severity: "medium",
            message: `member ${JSON.stringify(name)}: pax size ${n} differs from header size ${headerSize}; readers that ignore pax see different data`,
            offset: pos,
            evidence: { member: name, paxSize: n, headerSize },
          });
        }
        size2 = n;
      }
    }
    headerSize = size2;
    longName = undefined;
    longLink = undefined;
    pax = new Map();

    if (!KNOWN_TYPES.has(type)) {
      findings.add({
        ruleId: "tar/header-anomaly",
        message: `member ${JSON.stringify(name)} has unknown type ${JSON.stringify(type)} (read as a regular file)`,
        offset: pos,
        evidence: { member: name, type },
      });
    }
    const sparse = type === "S" || [...fields.keys()].some((k) => k.startsWith("GNU.sparse."));
    if (sparse) {
      findings.add({
        ruleId: "tar/header-anomaly",
        message: `member ${JSON.stringify(name)} is sparse: its stored bytes are analysed without the holes`,
        offset: pos,
        evidence: { member: name },
      });
    }
    const isFile = DATA_TYPES.has(type) || !KNOWN_TYPES.has(type) || type === "S";
    const mode = parseTarNumber(h, 100, 8);
    const evidence = { member: name };

    if (entries.length >= maxEntries) {
      incomplete = true;
      findings.add({
        ruleId: "container/too-many-entries",
        message: `the archive holds more than ${maxEntries} members; the rest were not read`,
        offset: pos,
        evidence: { budget: maxEntries },
      });
      break;
    }
    if (isTraversalName(name)) {
      findings.add({
        ruleId: "container/path-traversal",
        message: `member name ${JSON.stringify(name)} escapes the extraction directory`,
        offset: pos,
        evidence,
      });
    }
    if (type === "1" || type === "2") {
      findings.add({
        ruleId: "container/link-member",
        message: `member ${JSON.stringify(name)} is a ${type === "1" ? "hard" : "symbolic"} link to ${JSON.stringify(linkName)}`,
        offset: pos,
        evidence: { member: name, target: linkName, escapes: isTraversalName(linkName) },
      });
    }
    if (type === "3" || type === "4" || type === "6") {
      const kind = type === "3" ? "character device" : type === "4" ? "block device" : "FIFO";
      findings.add({
        ruleId: "tar/special-member",
        message: `member ${JSON.stringify(name)} is a ${kind}`,
        offset: pos,
        evidence: { member: name, kind },
      });
    }
    const first = seen.get(name);
    if (first === undefined) seen.set(name, entries.length);
    else if (type !== "5") {
      findings.add({
        ruleId: "tar/duplicate-name",
        message: `member name ${JSON.stringify(name)} appears more than once (members ${first} and ${entries.length})`,
        offset: pos,
        evidence: { member: name },
      });
    }

    // Only data-bearing types own data blocks (what tar and Python's tarfile agree on).
    let dataBlocks = 0;
    if (isFile || type === "M") dataBlocks = blocksOf(headerSize);
    else if (headerSize > 0) {
      findings.add({
        ruleId: "tar/header-anomaly",
        severity: "medium",
        message: `member ${JSON.stringify(name)} of type ${JSON.stringify(type)} declares ${headerSize} data bytes; readers disagree on whether they follow`,
        offset: pos,
        evidence: { member: name, size: headerSize },
      });
    }
    if (dataStart + (isFile ? headerSize : 0) > size) {
      malformed(
        `member ${JSON.stringify(name)} (${headerSize} bytes at ${dataStart}) runs past the end of the file`,
        pos,
      );
      break;
    }
    entries.push({
      index: entries.length,
      name,
      type,
      size: isFile ? headerSize : 0,
      dataOffset: dataStart,
      headerOffset: pos,
      linkName,
      mode: Number.isNaN(mode) ? 0 : mode,
      isFile,
    });
    pos = dataStart + dataBlocks;
    lastDataBytes = dataBlocks;
  }

  if (!ended && !incomplete) {
    findings.add({
      ruleId: "tar/header-anomaly",
      message: "the archive ends without its end-of-archive blocks (truncated?)",
      offset: Math.min(pos, size),
    });
  }
  if (ended && pos < size) {
    const rest = await firstNonZero(source, pos, size);
    if (rest >= 0) {
      trailing = { offset: rest, length: size - rest };
      findings.add({
        ruleId: "tar/trailing-data",
        message: `${size - rest} bytes of data follow the end-of-archive marker`,
        offset: rest,
        evidence: { bytes: size - rest },
      });
    }
  }
  const listing = { entries, incomplete, findings: findings.list() };
  return trailing === undefined ? listing : { ...listing, trailing };
}

/** Offset of the first non-zero byte in `[from, to)`, or -1 (reads at most 16 MiB). */
async function firstNonZero(source: ByteSource, from: number, to: number): Promise<number> {
  const limit = Math.min(to, from + 16 * 1024 * 1024);
  for (let at = from; at < limit; at += 1024 * 1024) {
    const chunk = await readClamped(source, at, Math.min(1024 * 1024, limit - at));
    const i = chunk.findIndex((c) => c !== 0);
    if (i >= 0) return at + i;
  }
  return limit < to ? limit : -1;
}
