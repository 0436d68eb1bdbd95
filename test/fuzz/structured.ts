/**
 * Structure-aware mutations: byte flips rarely survive a length-prefixed protobuf or a JSON
 * parser, so these parse the input, change the tree (delete, duplicate, nest, swap in extreme
 * values) and write it back with consistent lengths. They return undefined when the input does not
 * parse as that structure.
 */
import type { Rng } from "./rng.js";

// ---------------------------------------------------------------------------------------------
// protobuf wire format

interface PbField {
  tag: number;
  wire: number;
  /** varint / fixed value bytes, or the payload of a length-delimited field */
  data: Uint8Array;
  /** set when the payload parsed as a message */
  children?: PbField[];
}

function readVarint(b: Uint8Array, at: number): [bigint, number] | undefined {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    const c = b[at + i];
    if (c === undefined) return undefined;
    v |= BigInt(c & 0x7f) << BigInt(7 * i);
    if ((c & 0x80) === 0) return [v, at + i + 1];
  }
  return undefined;
}

function parsePb(b: Uint8Array, depth: number): PbField[] | undefined {
  const out: PbField[] = [];
  let at = 0;
  while (at < b.length) {
    const key = readVarint(b, at);
    if (key === undefined) return undefined;
    const tag = Number(key[0] >> 3n);
    const wire = Number(key[0] & 7n);
    if (tag === 0 || tag > 536870911) return undefined;
    at = key[1];
    if (wire === 0) {
      const v = readVarint(b, at);
      if (v === undefined) return undefined;
      out.push({ tag, wire, data: b.subarray(at, v[1]) });
      at = v[1];
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (at + n > b.length) return undefined;
      out.push({ tag, wire, data: b.subarray(at, at + n) });
      at += n;
    } else if (wire === 2) {
      const len = readVarint(b, at);
      if (len === undefined || Number(len[0]) > b.length - len[1]) return undefined;
      const data = b.subarray(len[1], len[1] + Number(len[0]));
      at = len[1] + data.length;
      const field: PbField = { tag, wire, data };
      if (depth < 40 && data.length > 0) {
        const children = parsePb(data, depth + 1);
        if (children !== undefined) field.children = children;
      }
      out.push(field);
    } else return undefined;
  }
  return out;
}

function varint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) byte |= 0x80;
    out.push(byte);
  } while (x !== 0n);
  return out;
}

function encodePb(fields: readonly PbField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(Uint8Array.from(varint((BigInt(f.tag) << 3n) | BigInt(f.wire))));
    if (f.wire === 2) {
      const payload = f.children !== undefined ? encodePb(f.children) : f.data;
      parts.push(Uint8Array.from(varint(BigInt(payload.length))), payload);
    } else parts.push(f.data);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every field list in the tree (the root and each parsed sub-message). */
function lists(fields: PbField[], acc: PbField[][] = []): PbField[][] {
  acc.push(fields);
  for (const f of fields) if (f.children !== undefined) lists(f.children, acc);
  return acc;
}

const PB_VARINTS = [0n, 1n, 127n, 128n, 0x7fffffffn, 0x80000000n, 0xffffffffn, -1n, 1n << 53n, 1n << 63n];

/**
 * A protobuf-aware mutant, or undefined when the input is not a protobuf message.
 * @param b - the input
 * @param rng - the random source
 */
export function mutateProtobuf(b: Uint8Array, rng: Rng): Uint8Array | undefined {
  const root = parsePb(b, 0);
  if (root === undefined || root.length === 0) return undefined;
  const all = lists(root);
  const ops = rng.int(1, 4);
  for (let i = 0; i < ops; i++) {
    const list = rng.pick(all);
    if (list.length === 0) continue;
    const at = rng.below(list.length);
    const field = list[at] as PbField;
    switch (rng.below(8)) {
      case 0: // delete
        list.splice(at, 1);
        break;
      case 1: // duplicate (repeated fields, or a last-one-wins scalar)
        list.splice(rng.below(list.length + 1), 0, structuredClone(field));
        break;
      case 2: {
        // copy a field from anywhere in the tree into this list (grafting subtrees, nesting deeper)
        const donorList = rng.pick(all);
        const donor = donorList[rng.below(donorList.length)];
        if (donor !== undefined) list.splice(rng.below(list.length + 1), 0, structuredClone(donor));
        break;
      }
      case 3: // extreme varint
        if (field.wire === 0) field.data = Uint8Array.from(varint(rng.pick(PB_VARINTS)));
        break;
      case 4: {
        // swap two fields (order matters to readers that stream)
        const j = rng.below(list.length);
        list[at] = list[j] as PbField;
        list[j] = field;
        break;
      }
      case 5: // change the tag to a neighbour
        field.tag = Math.max(1, field.tag + rng.int(-2, 2));
        break;
      case 6: // string payload: grow or cut
        if (field.wire === 2 && field.children === undefined) {
          const n = rng.chance(0.5) ? rng.below(field.data.length + 1) : field.data.length * rng.int(2, 64);
          const data = new Uint8Array(n);
          for (let k = 0; k < n; k++)
            data[k] = field.data.length === 0 ? 0x41 : (field.data[k % field.data.length] as number);
          field.data = data;
        }
        break;
      default: {
        // wrap this sub-message inside a copy of itself (deep nesting)
        if (field.children !== undefined) {
          const inner = structuredClone(field);
          field.children = [...field.children, inner];
        }
      }
    }
  }
  return encodePb(root);
}

// ---------------------------------------------------------------------------------------------
// JSON

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const JSON_VALUES: readonly Json[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e-308,
  2 ** 53 + 2,
  4294967296,
  "",
  "../../etc/passwd",
  "A".repeat(300),
  "\u0000",
  "os.system",
  "__import__",
  [],
  {},
  [0, 0],
  [1, 18446744073709552000],
];

function containers(
  v: Json,
  acc: Array<Json[] | { [k: string]: Json }> = [],
  depth = 0,
): Array<Json[] | { [k: string]: Json }> {
  if (v === null || typeof v !== "object" || depth > 64) return acc;
  acc.push(v);
  for (const c of Array.isArray(v) ? v : Object.values(v)) containers(c, acc, depth + 1);
  return acc;
}

function mutateTree(root: Json, rng: Rng): Json {
  const all = containers(root);
  if (all.length === 0) return rng.pick(JSON_VALUES);
  const ops = rng.int(1, 3);
  for (let i = 0; i < ops; i++) {
    const c = rng.pick(all);
    const keys: Array<string | number> = Array.isArray(c) ? c.map((_, k) => k) : Object.keys(c);
    const pickValue = (): Json => {
      const r = rng.below(4);
      if (r === 0) {
        const donor = rng.pick(all);
        return structuredClone(donor) as Json;
      }
      if (r === 1 && keys.length > 0) {
        // nest: wrap an existing value in an array or object, a few levels
        let v = structuredClone((c as Record<string | number, Json>)[rng.pick(keys) as never]) as Json;
        for (let d = rng.int(1, 40); d > 0; d--) v = rng.chance(0.5) ? [v] : { k: v };
        return v;
      }
      return structuredClone(rng.pick(JSON_VALUES)) as Json;
    };
    const op = rng.below(4);
    if (Array.isArray(c)) {
      if (op === 0 && c.length > 0) c.splice(rng.below(c.length), 1);
      else if (op === 1 && c.length > 0)
        c.splice(rng.below(c.length + 1), 0, structuredClone(c[rng.below(c.length)]) as Json);
      else if (c.length > 0) c[rng.below(c.length)] = pickValue();
      else c.push(pickValue());
    } else {
      if (op === 0 && keys.length > 0) delete c[String(rng.pick(keys))];
      else if (op === 1) {
        const key =
          rng.chance(0.5) && keys.length > 0
            ? `${String(rng.pick(keys))}_`
            : rng.pick(["__metadata__", "class_name", "module", "dtype", "config", "", "\u0000"]);
        c[key] = pickValue();
      } else if (keys.length > 0) c[String(rng.pick(keys))] = pickValue();
      else c.x = pickValue();
    }
  }
  return root;
}

/**
 * A JSON-aware mutant of a whole-file JSON document, or undefined when it does not parse.
 * @param b - the input
 * @param rng - the random source
 */
export function mutateJsonText(b: Uint8Array, rng: Rng): Uint8Array | undefined {
  let value: Json;
  try {
    value = JSON.parse(new TextDecoder().decode(b)) as Json;
  } catch {
    return undefined;
  }
  const out = mutateTree(value, rng);
  // sometimes a duplicate key, which JSON.stringify cannot write
  let text = JSON.stringify(out, null, rng.chance(0.3) ? 2 : undefined);
  if (rng.chance(0.1) && text.startsWith("{") && text.length > 2) {
    const first = text.indexOf(",", 1);
    if (first > 0) text = `{${text.slice(1, first)},${text.slice(1)}`;
  }
  return new TextEncoder().encode(text);
}

/**
 * A safetensors mutant whose JSON header was changed as a tree and whose length prefix matches.
 * @param b - the input
 * @param rng - the random source
 */
export function mutateSafetensorsHeader(b: Uint8Array, rng: Rng): Uint8Array | undefined {
  if (b.length < 8) return undefined;
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  if (n > b.length - 8 || n > 4 * 1024 * 1024) return undefined;
  const header = mutateJsonText(b.subarray(8, 8 + n), rng);
  if (header === undefined) return undefined;
  const out = new Uint8Array(8 + header.length + (b.length - 8 - n));
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(b.subarray(8 + n), 8 + header.length);
  return out;
}

/**
 * An OMS/sigstore bundle mutant: the bundle JSON, or the in-toto statement inside its DSSE
 * payload (base64), changed as a tree.
 * @param b - the input
 * @param rng - the random source
 */
export function mutateBundle(b: Uint8Array, rng: Rng): Uint8Array | undefined {
  let bundle: { dsseEnvelope?: { payload?: string } };
  try {
    bundle = JSON.parse(new TextDecoder().decode(b)) as typeof bundle;
  } catch {
    return undefined;
  }
  const payload = bundle.dsseEnvelope?.payload;
  if (typeof payload === "string" && rng.chance(0.6) && bundle.dsseEnvelope !== undefined) {
    const inner = mutateJsonText(Buffer.from(payload, "base64"), rng);
    if (inner === undefined) return undefined;
    bundle.dsseEnvelope.payload = Buffer.from(inner).toString("base64");
    return new TextEncoder().encode(JSON.stringify(bundle));
  }
  return mutateJsonText(b, rng);
}
