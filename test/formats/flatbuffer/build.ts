/**
 * Small helpers over the `flatbuffers` npm Builder for tests: tables by field index, vectors, and
 * TFLite / ExecuTorch models in the field order of their public schemas.
 */
import { Builder } from "flatbuffers";

export type Field =
  | { readonly i8: number }
  | { readonly u8: number }
  | { readonly i32: number }
  | { readonly u32: number }
  | { readonly u64: number }
  | { readonly off: number };

/** Builds a table with `fields[i]` at slot `i` (undefined: absent). */
export function table(b: Builder, fields: readonly (Field | undefined)[]): number {
  b.startObject(fields.length);
  fields.forEach((f, i) => {
    if (f === undefined) return;
    if ("i8" in f) b.addFieldInt8(i, f.i8, 0);
    else if ("u8" in f) b.addFieldInt8(i, f.u8, 0);
    else if ("i32" in f) b.addFieldInt32(i, f.i32, 0);
    else if ("u32" in f) b.addFieldInt32(i, f.u32 | 0, 0);
    else if ("u64" in f) b.addFieldInt64(i, BigInt(f.u64), 0n);
    else b.addFieldOffset(i, f.off, 0);
  });
  return b.endObject();
}

/** A vector of offsets. */
export function offsets(b: Builder, items: readonly number[]): number {
  b.startVector(4, items.length, 4);
  for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]!);
  return b.endVector();
}

/** A vector of int32. */
export function ints(b: Builder, items: readonly number[]): number {
  b.startVector(4, items.length, 4);
  for (let i = items.length - 1; i >= 0; i--) b.addInt32(items[i]!);
  return b.endVector();
}

/** A [ubyte] vector. */
export function bytes(b: Builder, data: Uint8Array | string): number {
  const d = typeof data === "string" ? new TextEncoder().encode(data) : data;
  b.startVector(1, d.length, 16);
  for (let i = d.length - 1; i >= 0; i--) b.addInt8(d[i]!);
  return b.endVector();
}

/** An operator of {@link tfliteModel}. */
export interface TfliteOp {
  readonly builtin: number;
  readonly custom?: string;
}

/** Options of {@link tfliteModel}. */
export interface TfliteModelOptions {
  readonly version?: number;
  /** opcode_index of each operator (default: one operator per code, in order). */
  readonly operators?: readonly number[];
  /** Buffers: `data` inline or `offset`/`size` external. */
  readonly buffers?: readonly { data?: string; offset?: number; size?: number }[];
  readonly metadata?: readonly { name: string; buffer: number }[];
  readonly identifier?: string;
}

/** A TFLite model (schema.fbs field order). */
export function tfliteModel(codes: readonly TfliteOp[], options: TfliteModelOptions = {}): Uint8Array {
  const b = new Builder(256);
  const bufs = (options.buffers ?? [{}]).map((x) =>
    table(b, [
      x.data === undefined ? undefined : { off: bytes(b, x.data) },
      x.offset === undefined ? undefined : { u64: x.offset },
      x.size === undefined ? undefined : { u64: x.size },
    ]),
  );
  const opcodes = codes.map((c) =>
    table(b, [
      { i8: Math.min(c.builtin, 127) },
      c.custom === undefined ? undefined : { off: b.createString(c.custom) },
      { i32: 1 },
      { i32: c.builtin },
    ]),
  );
  const tensors = [0, 1].map((i) =>
    table(b, [{ off: ints(b, [1, 4]) }, { i8: 0 }, { u32: 0 }, { off: b.createString(`t${i}`) }]),
  );
  const ops = (options.operators ?? codes.map((_, i) => i)).map((index) =>
    table(b, [{ u32: index }, { off: ints(b, [0]) }, { off: ints(b, [1]) }]),
  );
  const subgraph = table(b, [
    { off: offsets(b, tensors) },
    { off: ints(b, [0]) },
    { off: ints(b, [1]) },
    { off: offsets(b, ops) },
    { off: b.createString("main") },
  ]);
  const metas = (options.metadata ?? []).map((m) => table(b, [{ off: b.createString(m.name) }, { u32: m.buffer }]));
  const model = table(b, [
    { u32: options.version ?? 3 },
    { off: offsets(b, opcodes) },
    { off: offsets(b, [subgraph]) },
    { off: b.createString("test") },
    { off: offsets(b, bufs) },
    undefined,
    metas.length > 0 ? { off: offsets(b, metas) } : undefined,
  ]);
  b.finish(model, options.identifier ?? "TFL3");
  return b.asUint8Array().slice();
}

/** Options of {@link pteProgram}. */
export interface PteOptions {
  readonly operators?: readonly [string, string][];
  /** Delegates: backend id, location (0 inline, 1 segment) and index. */
  readonly delegates?: readonly { id: string; location: number; index: number }[];
  /** Inline delegate blobs. */
  readonly inline?: readonly string[];
  /** Segments (offset relative to the segment base, size). */
  readonly segments?: readonly { offset: number; size: number }[];
  /** Kernel calls' operator indices. */
  readonly calls?: readonly number[];
  readonly identifier?: string;
}

/** An ExecuTorch program (program.fbs field order), without an extended header. */
export function pteProgram(options: PteOptions = {}): Uint8Array {
  const b = new Builder(256);
  const ops = (options.operators ?? [["aten::add", "out"]]).map(([n, o]) =>
    table(b, [{ off: b.createString(n) }, { off: b.createString(o) }]),
  );
  const dels = (options.delegates ?? []).map((d) =>
    table(b, [{ off: b.createString(d.id) }, { off: table(b, [{ i8: d.location }, { u32: d.index }]) }]),
  );
  const instructions = (options.calls ?? []).map((op) =>
    table(b, [{ u8: 1 }, { off: table(b, [{ i32: op }, { off: ints(b, [0]) }]) }]),
  );
  const chain = table(b, [{ off: ints(b, []) }, { off: ints(b, []) }, { off: offsets(b, instructions) }]);
  const plan = table(b, [
    { off: b.createString("forward") },
    undefined,
    { off: offsets(b, []) },
    { off: ints(b, []) },
    { off: ints(b, []) },
    { off: offsets(b, [chain]) },
    { off: offsets(b, ops) },
    { off: offsets(b, dels) },
  ]);
  const inline = (options.inline ?? []).map((d) => table(b, [{ off: bytes(b, d) }]));
  const segs = (options.segments ?? []).map((s) => table(b, [{ u64: s.offset }, { u64: s.size }]));
  const program = table(b, [
    { u32: 0 },
    { off: offsets(b, [plan]) },
    { off: offsets(b, []) },
    { off: offsets(b, inline) },
    { off: offsets(b, segs) },
  ]);
  b.finish(program, options.identifier ?? "ET12");
  return b.asUint8Array().slice();
}

/**
 * Inserts a 32-byte extended header (`eh00`) after the identifier, moving the root offset, as
 * ExecuTorch's serializer does.
 */
export function withExtendedHeader(flat: Uint8Array, segmentBase: number, programSize?: number): Uint8Array {
  const out = new Uint8Array(flat.length + 32);
  const dv = new DataView(out.buffer);
  out.set(flat.subarray(0, 8), 0);
  out.set(flat.subarray(8), 40);
  dv.setUint32(0, new DataView(flat.buffer, flat.byteOffset).getUint32(0, true) + 32, true);
  out.set(new TextEncoder().encode("eh00"), 8);
  dv.setUint32(12, 32, true);
  dv.setBigUint64(16, BigInt(programSize ?? out.length), true);
  dv.setBigUint64(24, BigInt(segmentBase), true);
  return out;
}
