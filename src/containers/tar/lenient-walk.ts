/**
 * The lenient, GNU-tar-like walk of a tar archive (the second reading of `./reader.ts`): numbers
 * in strict octal after leading blanks, the last metadata record wins, pax records within their
 * declared size, and it reads on past bad checksums and lone zero blocks, recording each such
 * spot as a finding, because what one tar reader skips another may extract. It reads the 512-byte
 * headers (batched through a window for small members) and skips member data by offset.
 * @module
 */

import { type ByteSource, readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import type { FindingList } from "../../core/findings.js";
import { latin1 } from "../../core/sniffing.js";
import { isTraversalName } from "../zip/reader.js";
import { Blocks } from "./blocks.js";
import { headerChecksums, parseTarNumber, tarChecksumMatches } from "./index.js";
import { parsePaxStrict } from "./pax.js";
import type { TarEntry, TarReadOptions } from "./reader.js";

const BLOCK = 512;

const utf8 = new TextDecoder("utf-8");

function cString(b: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && b[end] !== 0) end++;
  const bytes = b.subarray(start, end);
  return bytes.every((c) => c < 0x80) ? latin1(bytes) : utf8.decode(bytes);
}

const DATA_TYPES = new Set(["0", "\0", "7"]);
const KNOWN_TYPES = new Set(["0", "\0", "1", "2", "3", "4", "5", "6", "7", "x", "g", "L", "K", "S", "V", "D", "M"]);

/** A member of the lenient walk: sparse members carry no map (their stored bytes are listed). */
export type LenientEntry = Omit<TarEntry, "sparse" | "reader"> & { readonly sparseMember: boolean };

/**
 * Walks a tar archive's headers leniently (see the module comment). Throws `MALFORMED` only when
 * the first header is not tar at all; later damage ends the walk with a finding.
 */
export async function walkLenient(
  source: ByteSource,
  options: TarReadOptions,
  findings: FindingList,
): Promise<{ entries: LenientEntry[]; incomplete: boolean; trailing?: { offset: number; length: number } }> {
  const maxEntries = options.maxEntries ?? 200_000;
  const maxMeta = options.maxMetaBytes ?? 1024 * 1024;
  const blocks = new Blocks(source);
  const entries: LenientEntry[] = [];
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
    const magic = latin1(h.subarray(257, 263));
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
    const metaStart = pos + BLOCK;
    const blocksOf = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

    // Metadata records that apply to the next member.
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (headerSize > maxMeta) {
        throw new ModelgateError("BUDGET_EXCEEDED", `tar metadata record of ${headerSize} bytes at ${pos}`, {
          offset: pos,
          budget: "maxMetaBytes",
        });
      }
      if (metaStart + headerSize > size) {
        malformed(`metadata record at ${pos} runs past the end of the file`, pos);
        break;
      }
      const data = await readClamped(source, metaStart, headerSize);
      if (type === "L" || type === "K") {
        const value = cString(data, 0, data.length);
        if (type === "L") longName = value;
        else longLink = value;
      } else {
        const parsed = parsePaxStrict(data);
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
      pos = metaStart + blocksOf(headerSize);
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
    const sparseName = fields.get("GNU.sparse.name");
    if (sparseName !== undefined) name = sparseName;
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
        // GNU tar writes sparse members; the rebuilt file is what is analysed (maps that readers
        // could rebuild differently are tar/reader-disagreement)
        severity: "info",
        message: `member ${JSON.stringify(name)} is sparse: analysed as rebuilt from its map (holes as zeros), as tarfile extracts it`,
        offset: pos,
        evidence: { member: name },
      });
    }
    // unknown types and GNU multi-volume continuations are extracted as regular files
    const isFile = DATA_TYPES.has(type) || !KNOWN_TYPES.has(type) || type === "S" || type === "M";
    let dataStart = pos + BLOCK;
    if (type === "S") {
      // old GNU sparse: extension blocks of the map follow the header while their flag is set
      let extended = h[482] !== 0;
      for (let n = 0; extended && n < 100_000 && dataStart + BLOCK <= size; n++) {
        const ext = await blocks.get(dataStart, BLOCK);
        extended = ext[504] !== 0;
        dataStart += BLOCK;
      }
    }
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
    if (isFile) dataBlocks = blocksOf(headerSize);
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
      sparseMember: sparse,
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
  return trailing === undefined ? { entries, incomplete } : { entries, incomplete, trailing };
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
