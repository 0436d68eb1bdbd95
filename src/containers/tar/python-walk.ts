/**
 * Walks a tar archive the way CPython's `tarfile` (3.11) does, the reader NeMo (`extractall`)
 * and `torch.load` (legacy tar checkpoints) use. Where `tarfile` departs from GNU tar it is
 * followed here, because whatever it extracts is what gets unpickled:
 *
 * - numbers with `nti`: the text up to the first NUL, stripped, `int(s, 8)`; base-256 after
 *   0x80/0xff; a field that does not parse ends the archive (as does a bad checksum or a zero
 *   block: no second zero block needed);
 * - a type `\0` member whose name ends in `/` is a directory (its data blocks are *not* skipped);
 *   trailing slashes of directories and of pax paths are stripped; the ustar prefix is used
 *   whatever the magic (not for `L`, `K`, `S`);
 * - metadata records (`L`, `K`, `x`, `X` Solaris, `g`) are processed recursively: the record
 *   nearest the member applies first and the first in the file last, so the first wins; a `g`
 *   record's size sets later members' size without moving the walk; an `x` size moves it;
 * - unknown types (`M`, `V`, ...) are regular files; `S` and pax GNU sparse 0.0/0.1/1.0 members
 *   are rebuilt from their maps.
 *
 * Every loop is bounded (members, chain length, sparse map entries and blocks).
 * @module
 */

import { type ByteSource, readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import { Blocks } from "./blocks.js";
import { headerChecksums, parseTarNumberAsPython as nti } from "./index.js";
import { type PaxRecord, parsePaxPython, pythonInt } from "./pax.js";

const BLOCK = 512;
const META = new Set(["L", "K", "x", "X", "g"]);
/** Types whose data blocks `tarfile` does not skip and does not extract as a file. */
const NO_DATA = new Set(["1", "2", "3", "4", "5", "6"]);
/** Longest chain of metadata records before one member (CPython recurses per record). */
const MAX_CHAIN = 64;
/** Sparse map entries read per member. */
const MAX_SPARSE = 100_000;

/** A member as `tarfile` lists it. */
export interface PythonMember {
  readonly name: string;
  readonly type: string;
  readonly linkName: string;
  readonly mode: number;
  /** `TarInfo.size`: the bytes extraction writes. */
  readonly size: number;
  /** `offset_data`. */
  readonly dataOffset: number;
  /** The member's own header (after its metadata records). */
  readonly headerOffset: number;
  /** `isreg()` or an unknown type: extracted as a regular file. */
  readonly isFile: boolean;
  /** The sparse map, for sparse members. */
  readonly sparse?: readonly (readonly [number, number])[];
}

/** The result of {@link walkPython}. */
export interface PythonWalk {
  readonly members: PythonMember[];
  readonly findings: FindingInput[];
  /** Why `tarfile` raises while listing (loaders fail), if it does. */
  readonly fatal?: string;
  /** True when the first header is not one `tarfile` reads (`ReadError` on open). */
  readonly notTar: boolean;
  /** Where the listing ended (the end-of-archive block, an invalid header or the file's end). */
  readonly end: number;
}

/** Budgets of {@link walkPython}. */
export interface PythonWalkOptions {
  readonly maxEntries: number;
  readonly maxMetaBytes: number;
  readonly signal?: AbortSignal | undefined;
}

interface Header {
  type: string;
  name: string;
  linkName: string;
  size: number;
  mode: number;
  sparse?: { structs: [number, number][]; extended: boolean; origSize: number };
}

const utf8 = new TextDecoder("utf-8");

/** `nts`: the bytes up to the first NUL as text. */
function nts(b: Uint8Array, start: number, length: number): string {
  const field = b.subarray(start, start + length);
  const end = field.indexOf(0);
  return utf8.decode(end < 0 ? field : field.subarray(0, end));
}

type HeaderResult = { ok: true; h: Header } | { ok: false; why: "empty" | "truncated" | "eof" | "invalid" };

/** `TarInfo.frombuf`. */
function frombuf(buf: Uint8Array): HeaderResult {
  if (buf.length === 0) return { ok: false, why: "empty" };
  if (buf.length !== BLOCK) return { ok: false, why: "truncated" };
  if (buf.every((c) => c === 0)) return { ok: false, why: "eof" };
  const sum = nti(buf, 148, 8);
  const sums = headerChecksums(buf);
  if (sum !== sums.unsigned && sum !== sums.signed) return { ok: false, why: "invalid" };
  const numbers = [nti(buf, 100, 8), nti(buf, 108, 8), nti(buf, 116, 8), nti(buf, 124, 12), nti(buf, 136, 12)];
  if (numbers.some(Number.isNaN) || Number.isNaN(nti(buf, 329, 8)) || Number.isNaN(nti(buf, 337, 8))) {
    return { ok: false, why: "invalid" };
  }
  let type = String.fromCharCode(buf[156] as number);
  let name = nts(buf, 0, 100);
  const prefix = nts(buf, 345, 155);
  if (type === "\0" && name.endsWith("/")) type = "5";
  const h: Header = {
    type,
    name,
    linkName: nts(buf, 157, 100),
    size: numbers[3] as number,
    mode: numbers[0] as number,
  };
  if (type === "S") {
    const structs: [number, number][] = [];
    for (let i = 0, p = 386; i < 4; i++, p += 24) {
      const offset = nti(buf, p, 12);
      const numbytes = nti(buf, p + 12, 12);
      if (Number.isNaN(offset) || Number.isNaN(numbytes)) break;
      structs.push([offset, numbytes]);
    }
    const origSize = nti(buf, 483, 12);
    if (Number.isNaN(origSize)) return { ok: false, why: "invalid" };
    h.sparse = { structs, extended: buf[482] !== 0, origSize };
  }
  if (type === "5") name = name.replace(/\/+$/, "");
  if (prefix !== "" && type !== "L" && type !== "K" && type !== "S") name = `${prefix}/${name}`;
  h.name = name;
  return { ok: true, h };
}

/** One metadata record of a chain. */
type Meta =
  | { kind: "long"; type: "L" | "K"; value: string }
  | { kind: "pax"; type: "x" | "X" | "g"; fields: Map<string, string>; raw: PaxRecord[] };

/** A member being built (TarInfo while its chain unwinds). */
interface Building {
  name: string;
  type: string;
  linkName: string;
  mode: number;
  size: number;
  dataOffset: number;
  sparse?: [number, number][];
}

/** Raised where `tarfile` raises while listing. */
class Fatal extends Error {}

const blockOf = (n: number): number => (n > 0 ? Math.ceil(n / BLOCK) * BLOCK : 0);

/** `_apply_pax_info`. */
function applyPax(m: Building, fields: Map<string, string>): void {
  for (const [key, value] of fields) {
    if (key === "GNU.sparse.name") m.name = value;
    else if (key === "GNU.sparse.size" || key === "GNU.sparse.realsize") {
      const n = pythonInt(value);
      if (Number.isNaN(n)) throw new Fatal(`pax ${key} ${JSON.stringify(value)} is not an int`);
      m.size = n;
    } else if (key === "path") m.name = value.replace(/\/+$/, "");
    else if (key === "linkpath") m.linkName = value;
    else if (key === "size") {
      const n = pythonInt(value);
      m.size = Number.isNaN(n) ? 0 : n;
    }
  }
}

/**
 * Lists an archive as `tarfile` does.
 * @param source - the archive
 * @param options - budgets
 */
export async function walkPython(source: ByteSource, options: PythonWalkOptions): Promise<PythonWalk> {
  const members: PythonMember[] = [];
  const findings: FindingInput[] = [];
  const global = new Map<string, string>();
  const size = source.size;
  let pos = 0;
  let fatal: string | undefined;
  let notTar = false;
  let filePos = 0;
  const blocks = new Blocks(source);
  let lastData = Number.POSITIVE_INFINITY;
  const read = async (n: number): Promise<Uint8Array> => {
    // after a small member the next headers are likely close: read ahead; after a large one, don't
    const b =
      n <= 64 * 1024
        ? await blocks.get(filePos, n, lastData < 32 * 1024 ? 64 * 1024 : 2 * BLOCK)
        : await readClamped(source, filePos, n);
    filePos = Math.min(size, filePos + n);
    return b;
  };
  try {
    for (let count = 0; ; count++) {
      if ((count & 0xff) === 0) options.signal?.throwIfAborted();
      // TarFile.next(): seeking to a member past the end raises
      if (pos > size) throw new Fatal(`the member before ${pos} runs past the end of the file`);
      filePos = pos;
      const first = frombuf(await read(BLOCK));
      if (!first.ok) {
        if (pos === 0 && first.why !== "eof") notTar = true;
        break;
      }
      if (count >= options.maxEntries) {
        findings.push({
          ruleId: "container/too-many-entries",
          message: `the archive holds more than ${options.maxEntries} members; the rest were not read`,
          offset: pos,
          evidence: { budget: options.maxEntries },
        });
        break;
      }
      const chain: Meta[] = [];
      let h = first.h;
      while (META.has(h.type)) {
        if (chain.length >= MAX_CHAIN) throw new Fatal(`more than ${MAX_CHAIN} metadata records before one member`);
        if (h.size > options.maxMetaBytes) {
          throw new ModelgateError("BUDGET_EXCEEDED", `tar metadata record of ${h.size} bytes at ${filePos - BLOCK}`, {
            offset: filePos - BLOCK,
            budget: "maxMetaBytes",
          });
        }
        const at = filePos - BLOCK;
        const data = await read(blockOf(h.size));
        if (h.type === "L" || h.type === "K") {
          chain.push({ kind: "long", type: h.type, value: nts(data, 0, data.length) });
        } else {
          const records = parsePaxPython(data);
          if (records === undefined) {
            if (chain.length > 0) throw new Fatal(`invalid pax header at ${at}`);
            // at the top level tarfile takes an invalid header for the end of the archive
            findings.push({ ruleId: "tar/header-anomaly", message: `invalid pax header at ${at}`, offset: at });
            break;
          }
          const type = h.type as "x" | "X" | "g";
          const fields = type === "g" ? global : new Map(global);
          for (const r of records) fields.set(r.key, r.value);
          chain.push({ kind: "pax", type, fields, raw: records });
        }
        const next = frombuf(await read(BLOCK));
        if (!next.ok) throw new Fatal(`no valid header after the metadata record at ${at}`);
        h = next.h;
      }
      if (META.has(h.type)) break; // the invalid top-level pax header above
      const headerOffset = filePos - BLOCK;
      const m: Building = {
        name: h.name,
        type: h.type,
        linkName: h.linkName,
        mode: h.mode,
        size: h.size,
        dataOffset: filePos,
      };
      let advance: number;
      if (h.sparse !== undefined) {
        // _proc_sparse: extension blocks, then the stored data; no global pax applied
        const structs = h.sparse.structs;
        let extended = h.sparse.extended;
        while (extended) {
          if (structs.length > MAX_SPARSE) throw new Fatal(`sparse map of more than ${MAX_SPARSE} entries`);
          const buf = await read(BLOCK);
          if (buf.length < BLOCK) throw new Fatal(`sparse extension block at ${filePos} is truncated`);
          for (let i = 0, p = 0; i < 21; i++, p += 24) {
            const offset = nti(buf, p, 12);
            const numbytes = nti(buf, p + 12, 12);
            if (Number.isNaN(offset) || Number.isNaN(numbytes)) break;
            if (offset !== 0 && numbytes !== 0) structs.push([offset, numbytes]);
          }
          extended = buf[504] !== 0;
        }
        m.sparse = structs;
        m.dataOffset = filePos;
        advance = filePos + blockOf(h.size);
        m.size = h.sparse.origSize;
      } else {
        advance = m.dataOffset + (NO_DATA.has(m.type) ? 0 : blockOf(m.size));
        applyPax(m, global);
        if (m.type === "5") m.name = m.name.replace(/\/+$/, "");
      }
      for (let i = chain.length - 1; i >= 0; i--) {
        const c = chain[i] as Meta;
        if (c.kind === "long") {
          if (c.type === "L") m.name = c.value;
          else m.linkName = c.value;
          if (m.type === "5" && m.name.endsWith("/")) m.name = m.name.slice(0, -1);
          continue;
        }
        const fields = c.fields;
        if (fields.has("GNU.sparse.map")) {
          const numbers = (fields.get("GNU.sparse.map") ?? "").split(",").map(pythonInt);
          if (numbers.some(Number.isNaN)) throw new Fatal("GNU.sparse.map holds a value that is not an int");
          if (numbers.length > 2 * MAX_SPARSE) throw new Fatal(`sparse map of more than ${MAX_SPARSE} entries`);
          m.sparse = pairs(numbers);
        } else if (fields.has("GNU.sparse.size")) {
          const offsets: number[] = [];
          const sizes: number[] = [];
          for (const r of c.raw) {
            if (r.key !== "GNU.sparse.offset" && r.key !== "GNU.sparse.numbytes") continue;
            const n = pythonInt(r.value);
            if (Number.isNaN(n)) throw new Fatal(`pax ${r.key} ${JSON.stringify(r.value)} is not an int`);
            (r.key === "GNU.sparse.offset" ? offsets : sizes).push(n);
          }
          m.sparse = offsets.slice(0, sizes.length).map((o, k) => [o, sizes[k] as number]);
        } else if (fields.get("GNU.sparse.major") === "1" && fields.get("GNU.sparse.minor") === "0") {
          m.sparse = await sparseMap10(read);
          m.dataOffset = filePos;
        }
        if (c.type !== "g") {
          applyPax(m, fields);
          if (fields.has("size")) advance = m.dataOffset + (NO_DATA.has(m.type) ? 0 : blockOf(m.size));
        }
      }
      if (m.size < 0) throw new Fatal(`member ${JSON.stringify(m.name)} has a negative size`);
      members.push({
        name: m.name,
        type: m.type,
        linkName: m.linkName,
        mode: m.mode,
        size: m.size,
        dataOffset: m.dataOffset,
        headerOffset,
        isFile: !NO_DATA.has(m.type),
        ...(m.sparse === undefined ? {} : { sparse: m.sparse }),
      });
      lastData = advance - m.dataOffset;
      pos = advance;
    }
  } catch (error) {
    if (!(error instanceof Fatal)) throw error;
    fatal = error.message;
  }
  const result = { members, findings, notTar, end: pos };
  return fatal === undefined ? result : { ...result, fatal };
}

function pairs(numbers: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < numbers.length; i += 2) out.push([numbers[i] as number, numbers[i + 1] as number]);
  return out;
}

/** `_proc_gnusparse_10`: the map as decimal lines in the data blocks. */
async function sparseMap10(read: (n: number) => Promise<Uint8Array>): Promise<[number, number][]> {
  let text = latin1(await read(BLOCK));
  let nl = text.indexOf("\n");
  if (nl < 0) throw new Fatal("GNU sparse 1.0 map without a line end");
  const fields = pythonInt(text.slice(0, nl));
  if (Number.isNaN(fields)) throw new Fatal("GNU sparse 1.0 map count is not an int");
  if (fields > MAX_SPARSE) throw new Fatal(`sparse map of more than ${MAX_SPARSE} entries`);
  text = text.slice(nl + 1);
  const numbers: number[] = [];
  while (numbers.length < fields * 2) {
    nl = text.indexOf("\n");
    if (nl < 0) {
      // one more block; a line still unended then makes tarfile raise
      text += latin1(await read(BLOCK));
      nl = text.indexOf("\n");
      if (nl < 0) throw new Fatal("GNU sparse 1.0 map line runs past a block");
    }
    const n = pythonInt(text.slice(0, nl));
    if (Number.isNaN(n)) throw new Fatal("GNU sparse 1.0 map entry is not an int");
    numbers.push(n);
    text = text.slice(nl + 1);
  }
  return pairs(numbers);
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}
