/**
 * Pax extended-header records and number text, read two ways: as Python's `tarfile` reads them
 * (`_proc_pax`: up to 20 length digits, records may run into the block padding, `int()` for
 * numbers) and as a strict reader does (12 digits, records inside the declared size, digits
 * only). The tar reader walks an archive both ways and compares what each finds.
 * @module
 */

const utf8 = new TextDecoder("utf-8");

/** One pax record: keyword and value as decoded text, and the raw keyword. */
export interface PaxRecord {
  readonly key: string;
  readonly value: string;
}

/**
 * Records of a pax header's data as `tarfile` parses them; `undefined` where `tarfile` raises
 * `InvalidHeaderError`. `data` is the block-padded data, as `tarfile` reads it.
 */
export function parsePaxPython(data: Uint8Array): PaxRecord[] | undefined {
  const records: PaxRecord[] = [];
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    let q = pos;
    while (q < data.length && q - pos < 20 && (data[q] as number) >= 0x30 && (data[q] as number) <= 0x39) q++;
    if (q === pos || data[q] !== 0x20) return undefined;
    const length = Number(latin1(data.subarray(pos, q)));
    if (length < 5 || pos + length > data.length) return undefined;
    const last = pos + length - 1;
    const body = data.subarray(q + 1, Math.max(q + 1, last));
    const eq = body.indexOf(0x3d);
    if (eq <= 0 || data[last] !== 0x0a) return undefined;
    records.push({ key: utf8.decode(body.subarray(0, eq)), value: utf8.decode(body.subarray(eq + 1)) });
    pos += length;
  }
  return records;
}

/** Records as a strict reader parses them (12 length digits, inside `data`), and whether any was malformed. */
export function parsePaxStrict(data: Uint8Array): { records: Map<string, string>; malformed: boolean } {
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

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** Python's whitespace for `str.strip()` and `int()`. */
function isPySpace(cp: number): boolean {
  return (
    (cp >= 0x09 && cp <= 0x0d) ||
    (cp >= 0x1c && cp <= 0x20) ||
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

function pyStrip(text: string): string {
  let a = 0;
  let z = text.length;
  while (a < z && isPySpace(text.charCodeAt(a))) a++;
  while (z > a && isPySpace(text.charCodeAt(z - 1))) z--;
  return text.slice(a, z);
}

const PY_INT = /^([+-]?)(\p{Nd}(?:_?\p{Nd})*)$/u;
const DIGIT = /^\p{Nd}$/u;

/** Value of one Unicode decimal digit (digits come in runs of ten from zero, Unicode's stability rule). */
function digitValue(cp: number): number {
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  let start = cp;
  for (let n = 0; n < 200 && DIGIT.test(String.fromCodePoint(start - 1)); n++) start--;
  return (cp - start) % 10;
}

/**
 * `int(text)` as Python computes it for a `str` (sign, `_` between digits, any Unicode decimal
 * digits, surrounding whitespace); NaN where Python raises `ValueError`.
 */
export function pythonInt(text: string): number {
  const m = PY_INT.exec(pyStrip(text));
  if (m === null) return Number.NaN;
  let value = 0;
  for (const ch of (m[2] ?? "").replace(/_/g, "")) value = value * 10 + digitValue(ch.codePointAt(0) as number);
  return m[1] === "-" ? -value : value;
}
