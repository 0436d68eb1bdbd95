/**
 * Worst cases per format: for each budget, the largest valid structure it allows and the same
 * structure one step past it. `bench/worst-cases.bench.mjs` times both at the real budgets;
 * `worst-cases.test.ts` checks at a small scale that the largest is analysed and that one step past
 * is a typed `invalid` verdict with the budget's rule (never a crash, never `clean`).
 *
 * Builders write the bytes directly (repeated records are one `Buffer.alloc(n, record)` fill), so a
 * 100 MB header or ten million protobuf nodes is built in well under a second.
 */
import { gzipSync } from "node:zlib";
import { UNPEEKABLE_MAX } from "../../src/formats/pickle/analyze.js";
import { SAFETENSORS_MAX_HEADER } from "../../src/formats/safetensors/parser.js";
import type { Limits } from "../../src/scan/types.js";
import { buildTar } from "../containers/tar-builder.js";
import { buildZip } from "../containers/zip-builder.js";
import type { FuzzInput } from "./targets.js";

/** One budget and how to build inputs around it. */
export interface WorstCase {
  /** `format.budget`. */
  readonly id: string;
  /** The budget in words. */
  readonly budget: string;
  /** The budget's value at the library's defaults. */
  readonly limit: number;
  /** A smaller value for the fast test, when the budget can be configured through `Limits`. */
  readonly testLimit?: number;
  /** Scan limits that set the budget to `limit` (empty when it is a fixed constant). */
  limits(limit: number): Partial<Limits>;
  /** An input with `n` units (entries, tensors, nesting levels, bytes ...). */
  build(n: number): FuzzInput;
  /**
   * One step past `limit`, cheaply: the same structure declaring `limit + 1` units without
   * materialising them (the readers refuse on the declared count). Absent when `build(limit + 1)`
   * is already cheap.
   */
  declaredPast?(limit: number): FuzzInput;
  /**
   * One step past is only built by the bench (tens of MB of structure the reader must walk to
   * count; the same budget error path is covered by another case of the format).
   */
  readonly pastInBenchOnly?: boolean;
  /** The largest size the fast test builds for "largest valid" when `limit` is a fixed constant. */
  readonly testLargest?: number;
  /** Rule ids any of which must appear one step past the budget. */
  readonly pastRules: readonly string[];
}

const enc = new TextEncoder();

// --- protobuf helpers -------------------------------------------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}
/** A length-delimited field. */
function ld(tag: number, payload: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.from([...varint((tag << 3) | 2), ...varint(payload.length)]), payload]);
}
/** A varint field. */
function vi(tag: number, value: number): Uint8Array {
  return Uint8Array.from([...varint(tag << 3), ...varint(value)]);
}
const str = (tag: number, s: string) => ld(tag, enc.encode(s));
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** `count` copies of `record`. */
const repeat = (record: Uint8Array, count: number) => new Uint8Array(Buffer.alloc(record.length * count, record));

// --- ONNX ---------------------------------------------------------------------------------------

const ONNX_OPSET = ld(8, vi(2, 17));
const onnxModel = (graph: Uint8Array) => cat(vi(1, 8), ONNX_OPSET, ld(7, graph));
/** A graph holding `n` Relu nodes. */
function onnxNodes(n: number): FuzzInput {
  const node = ld(1, cat(str(1, "x"), str(2, "x"), str(4, "Relu")));
  return { name: "nodes.onnx", bytes: onnxModel(cat(repeat(node, n), str(2, "g"))) };
}
/** `depth` graphs nested through If.then_branch attributes (the main graph is depth 1). */
function onnxNesting(depth: number): FuzzInput {
  let graph = cat(ld(1, cat(str(1, "x"), str(2, "y"), str(4, "Relu"))), str(2, `g${depth}`));
  for (let d = depth - 1; d >= 1; d--) {
    const attribute = cat(str(1, "then_branch"), ld(6, graph), vi(20, 5));
    graph = cat(ld(1, cat(str(1, "c"), str(2, "y"), str(4, "If"), ld(5, attribute))), str(2, `g${d}`));
  }
  return { name: "nested.onnx", bytes: onnxModel(graph) };
}

// --- SavedModel ---------------------------------------------------------------------------------

/** A SavedModel whose graph has `n` NoOp nodes. */
function savedModelNodes(n: number): FuzzInput {
  const node = ld(1, cat(str(1, "n"), str(2, "NoOp")));
  const graph = repeat(node, n);
  const meta = cat(ld(1, ld(4, enc.encode("serve"))), ld(2, graph));
  return { name: "saved_model.pb", bytes: cat(vi(1, 1), ld(2, meta)) };
}

// --- GGUF ---------------------------------------------------------------------------------------

class Writer {
  buf: Buffer;
  at = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u32(v: number) {
    this.at = this.buf.writeUInt32LE(v, this.at);
  }
  u64(v: number | bigint) {
    this.at = this.buf.writeBigUInt64LE(BigInt(v), this.at);
  }
  u8(v: number) {
    this.at = this.buf.writeUInt8(v, this.at);
  }
  str(s: string) {
    this.u64(Buffer.byteLength(s));
    this.at += this.buf.write(s, this.at);
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.at);
  }
}

/** GGUF v3 header: magic, version, tensor count, kv count, plus `general.architecture`. */
function ggufHead(w: Writer, tensors: number, kvs: number): void {
  w.buf.write("GGUF", 0);
  w.at = 4;
  w.u32(3);
  w.u64(tensors);
  w.u64(kvs + 1);
  w.str("general.architecture");
  w.u32(8);
  w.str("llama");
}
/** `n` F32 tensors of 8 elements each. */
function ggufTensors(n: number): FuzzInput {
  const w = new Writer(128 + n * 64 + n * 32 + 64);
  ggufHead(w, n, 0);
  for (let i = 0; i < n; i++) {
    w.str(`t${i}`);
    w.u32(1);
    w.u64(8);
    w.u32(0);
    w.u64(i * 32);
  }
  w.at = Math.ceil(w.at / 32) * 32 + n * 32;
  return { name: "tensors.gguf", bytes: w.bytes() };
}
/**
 * A header declaring `n` tensors followed by zeros: room enough for `n` minimal tensor infos (so
 * the count is plausible), none of them written (the budget refuses the count first).
 */
function ggufDeclaredTensors(n: number): FuzzInput {
  const w = new Writer(256 + n * 24);
  ggufHead(w, n, 0);
  w.at = w.buf.length;
  return { name: "declared.gguf", bytes: w.bytes() };
}
/** `n` u8 key/values. */
function ggufKeyValues(n: number): FuzzInput {
  const w = new Writer(128 + n * 24);
  ggufHead(w, 0, n);
  for (let i = 0; i < n; i++) {
    w.str(`k.${i}`);
    w.u32(0);
    w.u8(1);
  }
  return { name: "kv.gguf", bytes: w.bytes() };
}
/** Like {@link ggufDeclaredTensors}, for key/values. */
function ggufDeclaredKeyValues(n: number): FuzzInput {
  const w = new Writer(256 + n * 13);
  ggufHead(w, 0, n - 1);
  w.at = w.buf.length;
  return { name: "declared-kv.gguf", bytes: w.bytes() };
}
/** One u8 array of `n` elements (zeros). */
function ggufArray(n: number): FuzzInput {
  const w = new Writer(160 + n);
  ggufHead(w, 0, 1);
  w.str("tokenizer.ggml.token_type");
  w.u32(9);
  w.u32(0);
  w.u64(n);
  w.at += n;
  return { name: "array.gguf", bytes: w.bytes() };
}

// --- safetensors --------------------------------------------------------------------------------

/** A safetensors file whose header is exactly `n` bytes (zero-size tensors, space padding). */
function safetensorsHeader(n: number): FuzzInput {
  const record = (i: number) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},`;
  const prefix = '{"__metadata__":{"format":"pt"},';
  const body: string[] = [];
  let size = prefix.length + 1;
  // at most a million tensors (six JSON values each, under the tokenizer's 10 M values); the rest
  // of the header is the whitespace padding writers add
  for (let i = 0; i < 1_000_000 && size + record(i).length < n; i++) {
    body.push(record(i));
    size += record(i).length;
  }
  let json = `${prefix}${body.join("")}`.replace(/,$/, "}");
  if (!json.endsWith("}")) json = `${json.slice(0, -1)}}`;
  const header = Buffer.alloc(n, 0x20);
  header.write(json, 0);
  const out = Buffer.alloc(8 + n);
  out.writeBigUInt64LE(BigInt(n), 0);
  header.copy(out, 8);
  return { name: "header.safetensors", bytes: new Uint8Array(out.buffer, out.byteOffset, out.length) };
}
/** A file that declares an `n`-byte header but holds only a few bytes of it. */
function safetensorsDeclared(n: number): FuzzInput {
  const out = Buffer.alloc(8 + 64, 0x20);
  out.writeBigUInt64LE(BigInt(n), 0);
  out.write("{}", 8);
  return { name: "declared.safetensors", bytes: new Uint8Array(out) };
}

// --- JSON, templates, HDF5, nesting -------------------------------------------------------------

/** A Keras-style config.json nested `depth` levels deep. */
function jsonDepth(depth: number): FuzzInput {
  const inner = '{"class_name":"Dense","units":1}';
  const open = '{"config":'.repeat(depth - 1);
  return { name: "config.json", bytes: enc.encode(`${open}${inner}${"}".repeat(depth - 1)}`) };
}

/** A chat template of exactly `n` characters. */
function templateLength(n: number): FuzzInput {
  const core = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
  return { name: "chat_template.jinja", bytes: enc.encode(core + "x".repeat(Math.max(0, n - core.length))) };
}

/** HDF5, superblock v0, root object header v1 holding `n` NIL messages in one block. */
function hdf5Messages(n: number): FuzzInput {
  const sb = Buffer.alloc(96);
  Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]).copy(sb, 0);
  sb[13] = 8;
  sb[14] = 8;
  sb.writeUInt16LE(4, 16);
  sb.writeUInt16LE(16, 18);
  const header = 96;
  sb.writeBigUInt64LE(0n, 24); // base
  sb.writeBigUInt64LE(0xffffffffffffffffn, 32); // free space
  sb.writeBigUInt64LE(0xffffffffffffffffn, 48); // driver info
  sb.writeBigUInt64LE(BigInt(header), 64); // root object header
  const block = Buffer.alloc(n * 8); // NIL messages: type 0, size 0
  const oh = Buffer.alloc(16);
  oh[0] = 1;
  oh.writeUInt16LE(Math.min(n, 0xffff), 2);
  oh.writeUInt32LE(1, 4);
  oh.writeUInt32LE(block.length, 8);
  const out = Buffer.concat([sb, oh, block]);
  out.writeBigUInt64LE(BigInt(out.length), 40); // end of file
  return { name: "messages.h5", bytes: new Uint8Array(out) };
}

/** HDF5 whose root object header is a chain of `n` blocks linked by continuation messages. */
function hdf5Blocks(n: number): FuzzInput {
  const sb = hdf5Messages(0).bytes.slice(0, 96);
  const blockSize = 8 + 16;
  const first = 96 + 16;
  const blocks = Buffer.alloc(n * blockSize);
  for (let i = 0; i < n - 1; i++) {
    const at = i * blockSize;
    blocks.writeUInt16LE(0x10, at);
    blocks.writeUInt16LE(16, at + 2);
    blocks.writeBigUInt64LE(BigInt(first + (i + 1) * blockSize), at + 8);
    blocks.writeBigUInt64LE(BigInt(blockSize), at + 16);
  }
  const oh = Buffer.alloc(16);
  oh[0] = 1;
  oh.writeUInt16LE(1, 2);
  oh.writeUInt32LE(1, 4);
  oh.writeUInt32LE(blockSize, 8);
  const out = Buffer.concat([sb, oh, blocks]);
  out.writeBigUInt64LE(BigInt(out.length), 40);
  return { name: "blocks.h5", bytes: new Uint8Array(out) };
}

/** A zip nested `depth` levels (the innermost holds a text file): members at depth 1 … depth. */
function zipNesting(depth: number): FuzzInput {
  let inner: Uint8Array = enc.encode("hello\n");
  let name = "leaf.txt";
  for (let d = 0; d < depth; d++) {
    inner = buildZip([{ name, data: inner, method: 8 }]);
    name = `level${depth - d}.zip`;
  }
  return { name: "nested.zip", bytes: inner };
}

/** A gzip stream that decodes to exactly `n` bytes, compressing ~50× (under the ratio budget). */
function gzipBytes(n: number): FuzzInput {
  const block = Buffer.alloc(4096);
  for (let i = 0; i < block.length; i += 64) block.write(`line ${i} ${"abcdefghij".slice(0, (i / 64) % 10)}\n`, i);
  const data = Buffer.alloc(n, block);
  return { name: "data.txt.gz", bytes: new Uint8Array(gzipSync(data, { level: 1 })) };
}

// --- pickle -------------------------------------------------------------------------------------

const pickleBytes = (...parts: (number[] | Uint8Array)[]) => cat(...parts.map((p) => Uint8Array.from(p)));
/** A list built by one APPENDS of `n - 1` ints: `n` items on the stack at once, about 2n opcodes. */
function pickleStack(n: number): FuzzInput {
  const items = n - 1;
  return {
    name: "stack.pkl",
    bytes: pickleBytes([0x80, 0x04, 0x5d, 0x28], repeat(Uint8Array.of(0x4b, 0x07), items), [0x65, 0x2e]),
  };
}
/** `n` nested MARKs (each closed by a TUPLE). */
function pickleMarks(n: number): FuzzInput {
  return {
    name: "marks.pkl",
    bytes: pickleBytes([0x80, 0x02], repeat(Uint8Array.of(0x28), n), repeat(Uint8Array.of(0x74), n), [0x2e]),
  };
}
/** `n` distinct globals (`collections.OrderedDict` attributes through dotted STACK_GLOBAL names), popped. */
function pickleRefs(n: number): FuzzInput {
  const parts: Uint8Array[] = [Uint8Array.of(0x80, 0x04)];
  const module = Uint8Array.of(0x8c, 11, ...enc.encode("collections"));
  for (let i = 0; i < n; i++) {
    const name = enc.encode(`OrderedDict.a${i}`);
    parts.push(module, Uint8Array.of(0x8c, name.length), name, Uint8Array.of(0x93, 0x30));
  }
  parts.push(Uint8Array.of(0x4e, 0x2e));
  return { name: "refs.pkl", bytes: new Uint8Array(Buffer.concat(parts)) };
}
/** One million opcodes: `n` (BININT1, POP) pairs. */
function pickleOpcodes(n: number): FuzzInput {
  return {
    name: "opcodes.pkl",
    bytes: pickleBytes([0x80, 0x04], repeat(Uint8Array.of(0x4b, 0x07, 0x30), Math.floor(n / 2)), [0x4e, 0x2e]),
  };
}

/**
 * A stream of exactly `n` bytes that the C unpickler reads differently from `io.BytesIO` (a GLOBAL
 * line cut by its FRAME's end), so the engine re-reads it that way too: then a FRAME around every
 * `None, POP` (the most segments the re-read can have), and a BINBYTES8 padding to the size.
 */
function pickleUnpeekable(n: number): FuzzInput {
  const head = Uint8Array.of(0x80, 0x04, 0x95, 9, 0, 0, 0, 0, 0, 0, 0, ...enc.encode("cos\nharmsystem\n0"));
  const unit = Uint8Array.of(0x95, 2, 0, 0, 0, 0, 0, 0, 0, 0x4e, 0x30);
  const units = Math.max(0, Math.floor((n - head.length - 10) / unit.length));
  const pad = n - head.length - units * unit.length - 10;
  const tail = new Uint8Array(10 + pad);
  tail[0] = 0x8e; // BINBYTES8 pad, STOP
  new DataView(tail.buffer).setBigUint64(1, BigInt(pad), true);
  tail[9 + pad] = 0x2e;
  return { name: "unpeekable.pkl", bytes: cat(head, repeat(unit, units), tail) };
}

const sized = (limit: number) => ({ maxEntries: limit });

/** Every worst case. */
export const WORST_CASES: readonly WorstCase[] = [
  {
    id: "pickle.stack",
    budget: "pickle maxStack (1 000 000 items; with its ~2 M opcodes)",
    limit: 1_000_000,
    limits: () => ({}),
    build: pickleStack,
    testLargest: 100_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "pickle.marks",
    budget: "pickle maxMarks (100 000 nested MARKs)",
    limit: 100_000,
    limits: () => ({}),
    build: pickleMarks,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "pickle.refs",
    budget: "pickle maxRefs (100 000 distinct globals)",
    limit: 100_000,
    limits: () => ({}),
    build: pickleRefs,
    testLargest: 10_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "pickle.unpeekable",
    budget: "pickle UNPEEKABLE_MAX (16 MiB re-read as io.BytesIO would read it)",
    limit: UNPEEKABLE_MAX,
    limits: () => ({}),
    build: pickleUnpeekable,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "zip.entries",
    budget: "Limits.maxEntries (200 000 entries)",
    limit: 200_000,
    testLimit: 1_000,
    limits: sized,
    build: (n) => ({
      name: "entries.zip",
      // zip64 end records once the count no longer fits the classic 16-bit field
      bytes: buildZip(
        Array.from({ length: n }, (_, i) => ({ name: `f/${i}.txt`, data: "a\n" })),
        { zip64End: n > 0xffff },
      ),
    }),
    pastRules: ["container/too-many-entries"],
  },
  {
    id: "tar.entries",
    budget: "Limits.maxEntries (200 000 entries)",
    limit: 200_000,
    testLimit: 1_000,
    limits: sized,
    build: (n) => ({
      name: "entries.tar",
      bytes: buildTar(Array.from({ length: n }, (_, i) => ({ name: `f/${i}.txt`, data: "a\n" }))),
    }),
    pastRules: ["container/too-many-entries"],
  },
  {
    id: "zip.depth",
    budget: "Limits.maxDepth (8 nested containers)",
    limit: 8,
    limits: (limit) => ({ maxDepth: limit }),
    build: zipNesting,
    pastRules: ["container/depth-exceeded"],
  },
  {
    id: "gzip.bytes",
    budget: "Limits.maxDecompressedBytes (set to 256 MiB here; the default is 8 GiB)",
    limit: 256 * 1024 * 1024,
    testLimit: 1024 * 1024,
    limits: (limit) => ({ maxDecompressedBytes: limit }),
    build: gzipBytes,
    pastRules: ["scan/budget-exceeded", "container/decompression-bomb"],
  },
  {
    id: "safetensors.header",
    budget: "SAFETENSORS_MAX_HEADER (100 000 000-byte JSON header)",
    limit: SAFETENSORS_MAX_HEADER,
    limits: () => ({}),
    build: safetensorsHeader,
    declaredPast: (limit) => safetensorsDeclared(limit + 1),
    testLargest: 1_000_000,
    pastRules: ["safetensors/header-too-large"],
  },
  {
    id: "gguf.tensors",
    budget: "Limits.maxEntries (200 000 tensor infos in a scan; the reader's own default is 1 000 000)",
    limit: 200_000,
    limits: () => ({}),
    build: ggufTensors,
    declaredPast: (limit) => ggufDeclaredTensors(limit + 1),
    testLargest: 10_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "gguf.keyValues",
    budget: "Limits.maxEntries (200 000 key/values in a scan; the reader's own default is 1 000 000)",
    limit: 200_000,
    limits: () => ({}),
    build: (n) => ggufKeyValues(n - 1),
    declaredPast: (limit) => ggufDeclaredKeyValues(limit + 1),
    testLargest: 10_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "gguf.array",
    budget: "GGUF maxArrayLength (100 000 000 elements)",
    limit: 100_000_000,
    limits: () => ({}),
    build: ggufArray,
    testLargest: 100_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "onnx.depth",
    budget: "ONNX maxGraphDepth (32 nested subgraphs)",
    limit: 32,
    limits: () => ({}),
    build: onnxNesting,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "onnx.nodes",
    budget: "ONNX maxNodes (10 000 000 nodes)",
    limit: 10_000_000,
    limits: () => ({}),
    build: onnxNodes,
    pastInBenchOnly: true,
    testLargest: 10_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "savedmodel.nodes",
    budget: "SavedModel maxNodes (5 000 000 graph nodes)",
    limit: 5_000_000,
    limits: () => ({}),
    build: savedModelNodes,
    pastInBenchOnly: true,
    testLargest: 10_000,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "json.depth",
    budget: "config JSON maxDepth (512 levels)",
    limit: 512,
    limits: () => ({}),
    build: jsonDepth,
    pastRules: ["repo/invalid-json", "scan/budget-exceeded", "format/malformed"],
  },
  {
    id: "template.length",
    budget: "template maxLength (1 MiB characters)",
    limit: 1024 * 1024,
    limits: () => ({}),
    build: templateLength,
    pastRules: ["template/unparseable"],
  },
  {
    id: "hdf5.messages",
    budget: "HDF5 maxMessages (100 000 header messages)",
    limit: 100_000,
    limits: () => ({}),
    build: hdf5Messages,
    pastRules: ["scan/budget-exceeded"],
  },
  {
    id: "hdf5.blocks",
    budget: "HDF5 maxBlocks (1 000 header continuation blocks)",
    limit: 1_000,
    limits: () => ({}),
    build: hdf5Blocks,
    pastRules: ["scan/budget-exceeded"],
  },
];

/** Sizes without a budget step that the bench also times (the "1M pickle opcodes"). */
export const LARGE_VALID: ReadonlyArray<{ readonly id: string; readonly build: () => FuzzInput }> = [
  { id: "pickle.opcodes (1 000 000)", build: () => pickleOpcodes(1_000_000) },
  {
    id: "zip.entries (100 000)",
    build: () => WORST_CASES.find((c) => c.id === "zip.entries")?.build(100_000) as FuzzInput,
  },
];
