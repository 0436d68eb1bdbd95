/**
 * Fuzz targets: one per reader. Each target names its seeds (committed samples plus inputs made by
 * the test builders), a mutation dictionary, and `run`, which puts one input through the reader's
 * own entry points (with its budgets) and through `scan()` under the fuzz limits. `run` resolves
 * when the input was handled (accepted or rejected with a typed error) and throws a
 * {@link FuzzFailure} otherwise.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync, gunzipSync, gzipSync, inflateRawSync as inflateRaw } from "node:zlib";
import { decompress } from "../../src/containers/compressed/streams.js";
import { openFolderStream } from "../../src/containers/sevenzip/coders.js";
import { readSevenZip } from "../../src/containers/sevenzip/reader.js";
import { readTar } from "../../src/containers/tar/reader.js";
import { openZipEntry, verifyZipEntry } from "../../src/containers/zip/member.js";
import { checkLocalHeaders, readZipDirectory } from "../../src/containers/zip/reader.js";
import { parseStrictJson } from "../../src/core/json.js";
import { readCbm } from "../../src/formats/catboost/model.js";
import { readCoremlPartial } from "../../src/formats/coreml/reader.js";
import { readMilWeights } from "../../src/formats/coreml/weights.js";
import { readExecutorch } from "../../src/formats/executorch/reader.js";
import { readGgml } from "../../src/formats/ggml/reader.js";
import { readGgufHeader } from "../../src/formats/gguf/reader.js";
import { codeReferences } from "../../src/formats/hf/auto-map.js";
import { pythonImports, pythonRisks, shellRisks } from "../../src/formats/hf/code-patterns.js";
import { decodeUtf16, parseConfigJson } from "../../src/formats/hf/text.js";
import { analyzeKerasConfigText } from "../../src/formats/keras/config.js";
import { readHdf5RootAttributes } from "../../src/formats/keras/hdf5.js";
import { parseMarshal } from "../../src/formats/marshal/marshal.js";
import { readMedia } from "../../src/formats/media/reader.js";
import { MEDIA_FORMATS, type MediaFormat } from "../../src/formats/media/signatures.js";
import { readMsgpack } from "../../src/formats/msgpack/reader.js";
import { readNdarrayList } from "../../src/formats/mxnet/params.js";
import { readOnnx } from "../../src/formats/onnx/reader.js";
import { readPaddleProgram } from "../../src/formats/paddle/reader.js";
import { analyzePickleStream } from "../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../src/formats/pickle/input.js";
import { picklePolicy } from "../../src/formats/pickle/policy/index.js";
import { parseRHeader } from "../../src/formats/r/header.js";
import { RInspector } from "../../src/formats/r/inspect.js";
import { RWalker } from "../../src/formats/r/reader.js";
import { RInput } from "../../src/formats/r/stream.js";
import { V1Walker } from "../../src/formats/r/v1.js";
import { readSafetensorsHeader } from "../../src/formats/safetensors/parser.js";
import { readSavedModel } from "../../src/formats/savedmodel/reader.js";
import { analyzeSchema } from "../../src/formats/skops/schema.js";
import { analyzeTemplate } from "../../src/formats/template/analyze.js";
import { readCheckpointIndex } from "../../src/formats/tfcheckpoint/index-reader.js";
import { readTflite } from "../../src/formats/tflite/reader.js";
import { readTorch7 } from "../../src/formats/torch7/reader.js";
import { legacyBinaryStart, readLegacyBinary } from "../../src/formats/xgboost/binary.js";
import { validateModel } from "../../src/formats/xgboost/model.js";
import { readUbjson } from "../../src/formats/xgboost/ubjson.js";
import { readXml } from "../../src/formats/xml/reader.js";
import { analyzeYamlText } from "../../src/formats/yaml/analyze.js";
import { classifySignatureFile, parseBundle } from "../../src/integrity/oms/bundle.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";
import { sniff } from "../../src/registry/catalog.js";
import type { Format } from "../../src/report/schema.js";
import { BufferSource, readClamped } from "../../src/sources/byte-source.js";
import { buildSevenZip, fixSevenZipCrcs } from "../containers/sevenzip-builder.js";
import { buildTar, paxRecord } from "../containers/tar-builder.js";
import { buildZip } from "../containers/zip-builder.js";
import { pteProgram, tfliteModel, withExtendedHeader } from "../formats/flatbuffer/build.js";
import { GgufBuilder, T } from "../formats/gguf/build.js";
import { xdr } from "../formats/r/build.js";
import { anyInvalidating, checkScan, typedOnly } from "./check.js";
import { tokens } from "./mutate.js";
import { generatePickles } from "./pickle-gen.js";
import type { Rng } from "./rng.js";
import { mutateBundle, mutateJsonText, mutateProtobuf, mutateSafetensorsHeader } from "./structured.js";

/** The repository root (found from this module, compiled or not). */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && existsSync(join(dir, "samples")) && existsSync(join(dir, "src"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("repository root not found");
    dir = up;
  }
})();

/** An input with the file name `scan()` sees. */
export interface FuzzInput {
  /** File name (its extension is a hint for the sniffer). */
  readonly name: string;
  /** The bytes. */
  readonly bytes: Uint8Array;
}

/** A fuzz target. */
export interface FuzzTarget {
  /** Short id (`zip`, `gguf` ...). */
  readonly name: string;
  /** What it exercises. */
  readonly description: string;
  /** Starting inputs. */
  seeds(): FuzzInput[];
  /** Mutation dictionary. */
  readonly dictionary: readonly Uint8Array[];
  /** Mutants are cut to this size (seeds may be larger). */
  readonly maxSize: number;
  /** Optional structure-aware mutation (protobuf, JSON trees); undefined when it does not apply. */
  structured?(bytes: Uint8Array, rng: Rng): Uint8Array | undefined;
  /** Optional repair after mutation (checksums, length prefixes), applied to some mutants. */
  fixup?(bytes: Uint8Array, rng: Rng): Uint8Array;
  /** Puts one input through the reader and `scan()`; throws a `FuzzFailure` on failure. */
  run(input: FuzzInput): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });

/** Files under `samples/<dir>` (recursively) that pass `keep`, smaller than `maxBytes`. */
function samples(dir: string, keep: (path: string) => boolean, maxBytes = 4 * 1024 * 1024): FuzzInput[] {
  const root = join(REPO_ROOT, "samples", dir);
  const out: FuzzInput[] = [];
  if (!existsSync(root)) return out;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && keep(p) && statSync(p).size <= maxBytes) {
        out.push({ name: e.name, bytes: new Uint8Array(readFileSync(p)) });
      }
    }
  };
  walk(root);
  return out;
}
const ext =
  (...exts: string[]) =>
  (p: string) =>
    exts.some((e) => p.endsWith(e));

const zipBudget = () => {
  let used = 0;
  return {
    maxRatio: 1000,
    charge(n: number) {
      used += n;
      if (used > 64 * 1024 * 1024) throw new Error("fuzz budget: decoded more than 64 MiB");
    },
  };
};

// ---------------------------------------------------------------------------------------------
// zip

/** Reads the directory and every member; returns whether the directory could not be read. */
async function zipDirect(bytes: Uint8Array): Promise<boolean> {
  const source = new BufferSource(bytes);
  let dir: Awaited<ReturnType<typeof readZipDirectory>>;
  try {
    dir = await readZipDirectory(source, { maxEntries: 10_000 });
  } catch (error) {
    return typedOnly("readZipDirectory", () => Promise.reject(error));
  }
  let offsets: ArrayLike<number> = [];
  await typedOnly("checkLocalHeaders", async () => {
    offsets = (await checkLocalHeaders(source, dir)).dataOffsets;
  });
  for (const entry of dir.entries.slice(0, 32)) {
    const offset = offsets[entry.index] ?? -1;
    await typedOnly("verifyZipEntry/openZipEntry", async () => {
      try {
        if (offset >= 0) await verifyZipEntry(source, entry, offset, zipBudget());
        const member = await openZipEntry(source, entry, zipBudget(), offset >= 0 ? offset : undefined);
        await readClamped(member, 0, 4096);
        await readClamped(member, Math.max(0, member.size - 16), 16);
        await member.close?.();
      } catch (error) {
        // the test's own decompression budget is not a reader failure
        if (error instanceof Error && error.message.startsWith("fuzz budget")) return;
        throw error;
      }
    });
  }
  return false;
}

const zipTarget: FuzzTarget = {
  name: "zip",
  description: "zip directory, local headers, members (stored/deflate, zip64), PyTorch/Keras/npz archives",
  seeds: () => [
    ...samples("containers", ext(".zip", ".pt", ".npz")),
    ...samples("keras", ext(".keras")),
    {
      name: "built.zip",
      bytes: buildZip(
        [
          { name: "archive/data.pkl", data: "abc".repeat(50), method: 8 },
          { name: "archive/data/0", data: new Uint8Array(300) },
          { name: "z64", data: "zip64", zip64: true },
        ],
        { comment: "c" },
      ),
    },
    { name: "z64end.zip", bytes: buildZip([{ name: "a", data: "x", method: 8 }], { zip64End: true }) },
  ],
  dictionary: tokens(
    "PK\x03\x04",
    "PK\x01\x02",
    "PK\x05\x06",
    "PK\x06\x06",
    "PK\x06\x07",
    "PK\x07\x08",
    "\x01\x00\x10\x00",
    "\x01\x00\x1c\x00",
    "UT\x05\x00",
    "archive/data.pkl",
    "archive/version",
    "../",
    "/etc/",
    "\\",
    "\x00",
    "config.json",
    "metadata.json",
    "model.weights.h5",
    ".keras",
  ),
  maxSize: 256 * 1024,
  async run({ name, bytes }) {
    const unreadable = await zipDirect(bytes);
    await checkScan(bytes, name, unreadable ? ["zip", "pytorch-zip", "npz", "keras", "torchscript"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// tar

/** Recomputes the checksum of every 512-byte block that looks like a ustar/GNU header. */
function fixTarChecksums(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let at = 0; at + 512 <= out.length; at += 512) {
    if (!(out[at + 257] === 0x75 && out[at + 258] === 0x73 && out[at + 259] === 0x74)) continue; // "ust"
    out.fill(0x20, at + 148, at + 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += out[at + i] as number;
    out.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\0 `), at + 148);
  }
  return out;
}

const tarTarget: FuzzTarget = {
  name: "tar",
  description: "ustar/GNU/pax headers, long names, links, sparse and base-256 sizes",
  seeds: () => [
    ...samples("containers", ext(".tar")),
    {
      name: "built.tar",
      bytes: buildTar([
        { name: "a.txt", data: "hello" },
        { name: "l", type: "2", linkName: "x" },
        { name: "b.bin", data: new Uint8Array(700) },
        { name: "pax", type: "x", data: paxRecord({ path: "long/".repeat(40), size: "3" }) },
        { name: "c", data: "abc" },
        { name: "big", data: "x", base256: true },
      ]),
    },
    {
      // a TorchServe tgz archive's tar (the torchserve-tar analyzer judges its manifest)
      name: "mar.tar",
      bytes: buildTar([
        { name: "m/handler.py", data: "import os\nos.system('id')\n" },
        { name: "m/MAR-INF/MANIFEST.json", data: '{"model":{"handler":"handler.py","serializedFile":"x.pt"}}' },
      ]),
    },
  ],
  dictionary: tokens(
    "MAR-INF/MANIFEST.json",
    "ustar\x0000",
    "ustar  \x00",
    "path=",
    "linkpath=",
    "size=",
    "GNU.sparse.",
    "././@LongLink",
    "../",
    "\x80\x00\x00\x00",
    "\xff\xff\xff\xff",
    "77777777777",
  ),
  maxSize: 256 * 1024,
  fixup: (bytes) => fixTarChecksums(bytes),
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readTar", async () => {
      const listing = await readTar(new BufferSource(bytes), { maxEntries: 10_000 });
      for (const e of listing.entries) {
        if (e.dataOffset + e.size > bytes.length) {
          throw new Error(`entry ${e.name} ends at ${e.dataOffset + e.size} past the archive's ${bytes.length} bytes`);
        }
      }
    });
    await checkScan(bytes, name, unreadable ? ["tar"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// compressed streams

const compressedTarget: FuzzTarget = {
  name: "compressed",
  description: "gzip (multi-member), zlib, bzip2, xz, lzma, zstd streams and their trailers",
  seeds: () => [
    // the bombs are left out: every mutant of one decodes to the budget, which slows the run ~50×
    // without reaching new code (they are covered by the container tests and the worst cases)
    ...samples("containers/compressed", (p) => !p.includes("bomb")),
    { name: "built.gz", bytes: gzipSync(enc.encode("some text ".repeat(100))) },
    { name: "built.zlib", bytes: deflateSync(enc.encode("\x80\x02}q\x00.")) },
  ],
  dictionary: tokens(
    "\x1f\x8b\x08",
    "BZh9",
    "1AY&SY",
    "\xfd7zXZ\x00",
    "\x28\xb5\x2f\xfd",
    "\x5d\x00\x00\x80\x00",
    "\x78\x9c",
  ),
  maxSize: 128 * 1024,
  async run({ name, bytes }) {
    const formats = sniff({ head: bytes.subarray(0, 65536), tail: bytes, size: bytes.length, name }).map(
      (d) => d.format,
    );
    const unreadable: Format[] = [];
    for (const format of formats) {
      if (!["gzip", "zlib", "zstd", "bz2", "xz", "lzma"].includes(format)) continue;
      const rejected = await typedOnly(`decompress ${format}`, async () => {
        try {
          const r = await decompress(format, new BufferSource(bytes), zipBudget());
          await readClamped(r.source, 0, 4096);
          await r.source.close?.();
        } catch (error) {
          if (error instanceof Error && error.message.startsWith("fuzz budget")) return;
          throw error;
        }
      });
      if (rejected) unreadable.push(format);
    }
    await checkScan(bytes, name, unreadable);
  },
};

// ---------------------------------------------------------------------------------------------
// 7z

const sevenZipTarget: FuzzTarget = {
  name: "7z",
  description:
    "7z signature/start header, plain and packed headers, folders, coders (LZMA, LZMA2, BCJ, Delta ...), substreams",
  seeds: () => [
    // the bomb is left out for the same reason as in `compressed`
    ...samples("sevenzip", (p) => !p.includes("bomb") && !p.endsWith(".json")),
    {
      name: "built.7z",
      bytes: buildSevenZip([{ name: "a.pkl", data: "\x80\x02}q\x00." }, { name: "dir" }, { name: "e", data: "" }], {
        solid: true,
      }),
    },
  ],
  dictionary: tokens(
    "7z\xbc\xaf\x27\x1c",
    "\x00\x04",
    "\x01\x04\x06",
    "\x17\x06",
    "\x0b\x01\x00",
    "\x21",
    "\x03\x01\x01",
    "\xff\xff\xff\xff",
    "../",
  ),
  maxSize: 128 * 1024,
  fixup: (bytes) => fixSevenZipCrcs(bytes),
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readSevenZip/openFolderStream", async () => {
      const source = new BufferSource(bytes);
      const archive = await readSevenZip(source, { maxEntries: 10_000 });
      for (const folder of archive.folders.slice(0, 16)) {
        if (folder.encrypted || folder.unsupported !== undefined || archive.streams === undefined) continue;
        await typedOnly("openFolderStream", async () => {
          const stream = openFolderStream(source, archive.streams!, folder.index, archive.packBase);
          try {
            let n = 0;
            for (let c = await stream.next(); c !== null && n < 64 * 1024 * 1024; c = await stream.next())
              n += c.length;
          } finally {
            stream.close();
          }
        });
      }
      return archive.headerEncrypted;
    });
    await checkScan(bytes, name, unreadable ? ["7z"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// safetensors

/** Makes the 8-byte header length match the header's last `}` (so header mutations get parsed). */
function fixSafetensorsLength(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 10) return bytes;
  let end = -1;
  const limit = Math.min(bytes.length, 1 << 20);
  for (let i = 8; i < limit; i++) if (bytes[i] === 0x7d) end = i;
  if (end < 0) return bytes;
  const out = new Uint8Array(bytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(end - 7), true);
  return out;
}

const safetensorsTarget: FuzzTarget = {
  name: "safetensors",
  description: "8-byte length, strict JSON header, dtypes, shapes, offsets, metadata",
  seeds: () => [...samples("safetensors", ext(".safetensors")), ...samples("hf-repo", ext(".safetensors"))],
  dictionary: tokens(
    '"__metadata__"',
    '"dtype"',
    '"shape"',
    '"data_offsets"',
    '"F32"',
    '"BF16"',
    '"F8_E4M3"',
    '"I64"',
    '"BOOL"',
    "[0,0]",
    "[]",
    "{}",
    '"\\u0000"',
    '"\\ud800"',
    "1e400",
    "-0",
    "18446744073709551616",
    ",",
    ":",
  ),
  maxSize: 256 * 1024,
  fixup: (bytes) => fixSafetensorsLength(bytes),
  structured: mutateSafetensorsHeader,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readSafetensorsHeader", async () => {
      const header = await readSafetensorsHeader(new BufferSource(bytes));
      return anyInvalidating(header.issues.map((i) => i.ruleId));
    });
    await checkScan(bytes, name, unreadable ? ["safetensors"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// GGUF

function ggufSeeds(): FuzzInput[] {
  const out: FuzzInput[] = [];
  for (const [version, le] of [
    [3, true],
    [2, false],
    [1, true],
  ] as const) {
    const b = new GgufBuilder({ version, le });
    b.kv("general.architecture", T.str, "llama");
    b.kv("llama.context_length", T.u32, 4096);
    b.kv("general.file_type", T.u32, 15);
    b.kv("tokenizer.chat_template", T.str, "{% for m in messages %}{{ m.content }}{% endfor %}");
    b.kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: ["a", "b", "<s>"] });
    b.kv("x.f", T.f32, 1.5);
    b.kv("x.i64", T.i64, -5n);
    b.tensor("tok_embd.weight", [32, 4], 0);
    b.tensor("output.weight", [64], 1);
    out.push({ name: `built-v${version}.gguf`, bytes: b.build() });
  }
  return out;
}

const ggufTarget: FuzzTarget = {
  name: "gguf",
  description: "GGUF v1–v3 both byte orders: key/values, arrays, tensor infos, alignment, chat templates",
  seeds: () => [...samples("gguf", ext(".gguf")), ...ggufSeeds()],
  dictionary: tokens(
    "GGUF",
    "\x03\x00\x00\x00",
    "\x00\x00\x00\x03",
    "general.alignment",
    "general.architecture",
    "tokenizer.chat_template",
    "tokenizer.chat_template.",
    "\x09\x00\x00\x00",
    "\x08\x00\x00\x00",
    "\x20\x00\x00\x00",
  ),
  maxSize: 256 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readGgufHeader", async () => {
      const header = await readGgufHeader(new BufferSource(bytes), { maxTensors: 100_000 });
      return !header.complete || anyInvalidating(header.issues.map((i) => i.ruleId));
    });
    await checkScan(bytes, name, unreadable ? ["gguf"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// ONNX

const onnxTarget: FuzzTarget = {
  name: "onnx",
  description: "ONNX protobuf: graphs, nested subgraphs, functions, attributes, external data",
  seeds: () => samples("onnx", ext(".onnx")),
  dictionary: tokens(
    "\x08\x07",
    "\x3a",
    "\x42\x04\x0a\x00\x10\x0d",
    "\x0a",
    "\x12",
    "\x1a",
    "\x22",
    "\x2a",
    "\x32",
    "\x52",
    "\x9a\x01",
    "\xff\xff\xff\xff\x0f",
    "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
    "location",
    "ai.onnx.ml",
    "com.microsoft",
    "../",
    "PyOp",
    "Loop",
    "If",
  ),
  maxSize: 256 * 1024,
  structured: mutateProtobuf,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readOnnx", () => readOnnx(new BufferSource(bytes)));
    await checkScan(bytes, name, unreadable ? ["onnx"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// Keras: HDF5 and .keras/config JSON

const hdf5Target: FuzzTarget = {
  name: "keras-hdf5",
  description: "HDF5 superblocks v0–v3, object headers, attributes (model_config, keras_version), Lambda layers",
  seeds: () => samples("keras", ext(".h5")),
  dictionary: tokens(
    "\x89HDF\r\n\x1a\n",
    "OHDR",
    "OCHK",
    "TREE",
    "HEAP",
    "SNOD",
    "model_config",
    "keras_version",
    "training_config",
    '"class_name"',
    '"Lambda"',
    "\xff\xff\xff\xff\xff\xff\xff\xff",
  ),
  maxSize: 256 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readHdf5RootAttributes", () =>
      readHdf5RootAttributes(new BufferSource(bytes), 0),
    );
    await checkScan(bytes, name, unreadable ? ["hdf5"] : []);
  },
};

const kerasTarget: FuzzTarget = {
  name: "keras",
  description: "Keras v3 config.json / metadata.json: layers, Lambda and custom objects, module references",
  seeds: () => [
    ...samples("keras", ext(".json")),
    ...samples("keras", ext(".keras")).flatMap((k) => zipJsonMembers(k.bytes)),
  ],
  dictionary: tokens(
    '"class_name"',
    '"module"',
    '"registered_name"',
    '"config"',
    '"layers"',
    '"Lambda"',
    '"function"',
    '"__lambda__"',
    '"TFOpLambda"',
    '"builtins"',
    '"os"',
    '"keras.layers"',
    "[",
    "]",
    "{",
    "}",
    "null",
  ),
  maxSize: 256 * 1024,
  structured: mutateJsonText,
  async run({ name, bytes }) {
    const text = dec.decode(bytes);
    await typedOnly("analyzeKerasConfigText", () => analyzeKerasConfigText(text, name));
    await checkScan(bytes, name);
  },
};

/** The JSON members of a stored/deflated zip (config.json, metadata.json of .keras archives). */
function zipJsonMembers(zip: Uint8Array): FuzzInput[] {
  const out: FuzzInput[] = [];
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let at = 0; at + 30 <= zip.length; at++) {
    if (view.getUint32(at, true) !== 0x04034b50) continue;
    const method = view.getUint16(at + 8, true);
    const csize = view.getUint32(at + 18, true);
    const nlen = view.getUint16(at + 26, true);
    const xlen = view.getUint16(at + 28, true);
    const name = dec.decode(zip.subarray(at + 30, at + 30 + nlen));
    const data = zip.subarray(at + 30 + nlen + xlen, at + 30 + nlen + xlen + csize);
    if (!name.endsWith(".json")) continue;
    try {
      const bytes = method === 0 ? new Uint8Array(data) : method === 8 ? new Uint8Array(inflateRaw(data)) : undefined;
      if (bytes !== undefined) out.push({ name: name.slice(name.lastIndexOf("/") + 1), bytes });
    } catch {
      // not a seed
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SavedModel

const savedModelTarget: FuzzTarget = {
  name: "savedmodel",
  description: "TF SavedModel protobuf (saved_model.pb, keras_metadata.pb): graphs, function library, ops",
  seeds: () => samples("savedmodel", ext(".pb")),
  dictionary: tokens(
    "\x0a",
    "\x12",
    "\x1a",
    "\x22",
    "\x2a",
    "\x32",
    "PyFunc",
    "EagerPyFunc",
    "ReadFile",
    "WriteFile",
    "PrintV2",
    "RestoreV2",
    "MergeV2Checkpoints",
    "serve",
    "\xff\xff\xff\xff\x0f",
  ),
  maxSize: 256 * 1024,
  structured: mutateProtobuf,
  async run({ name, bytes }) {
    const kind = name === "keras_metadata.pb" ? "keras_metadata" : "saved_model";
    const unreadable = await typedOnly(
      "readSavedModel",
      async () => (await readSavedModel(new BufferSource(bytes), kind)).error !== undefined,
    );
    await checkScan(bytes, name, unreadable ? ["tf-savedmodel"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// chat templates

const templateTarget: FuzzTarget = {
  name: "template",
  description:
    "Jinja chat templates (.jinja, tokenizer_config.json, chat_template.json): lexer, parser, sandbox-escape analysis",
  seeds: () => [
    ...samples("hf-repo", (p) => /chat_template|tool_template|tokenizer_config/.test(p)),
    ...samples("gguf", (p) => p.includes("template")).map((s) => ({ name: s.name, bytes: s.bytes })),
    {
      name: "chat_template.jinja",
      bytes: enc.encode(
        "{%- set ns = namespace(x=1) -%}{% macro m(a, b=2) %}{{ a ~ b }}{% endmacro %}" +
          "{% for message in messages if message.role != 'system' %}{{ '<|' + message['role'] + '|>' }}" +
          "{% filter upper %}{{ message.content | trim }}{% endfilter %}{% if loop.last %}{{ m(1) }}{% endif %}" +
          "{% endfor %}{{ cycler.__init__.__globals__ }}{{ ''.__class__.__mro__[1].__subclasses__() }}",
      ),
    },
  ],
  dictionary: tokens(
    "{{",
    "}}",
    "{%",
    "%}",
    "{%-",
    "-%}",
    "{#",
    "#}",
    " for x in ",
    " endfor ",
    " if ",
    " endif ",
    " set ",
    " macro ",
    " endmacro ",
    " call ",
    " filter ",
    " raw ",
    " endraw ",
    "namespace(",
    "__class__",
    "__globals__",
    "__subclasses__",
    "__builtins__",
    "|attr(",
    "|map(",
    "cycler",
    "joiner",
    "lipsum",
    "self",
    "range(",
    "~",
    "[",
    "]",
    ".",
    "(",
    ")",
    "'",
    '"',
    "\\u005f",
    "\\x5f",
  ),
  maxSize: 128 * 1024,
  structured: mutateJsonText,
  async run({ name, bytes }) {
    await typedOnly("analyzeTemplate", () => analyzeTemplate(dec.decode(bytes)));
    await checkScan(bytes, name);
  },
};

// ---------------------------------------------------------------------------------------------
// HF repository files

const hfTarget: FuzzTarget = {
  name: "hf",
  description: "HF repo files: config.json (auto_map, remote code), *.index.json, Python, shell, notebooks",
  seeds: () =>
    samples("hf-repo", ext(".json", ".py", ".sh", ".ipynb")).filter(
      (s) => !/chat_template|tokenizer_config/.test(s.name) && s.bytes.length < 256 * 1024,
    ),
  dictionary: tokens(
    '"auto_map"',
    '"AutoModel"',
    '"trust_remote_code"',
    '"weight_map"',
    '"cells"',
    '"source"',
    "../",
    "--",
    "import os\n",
    "os.system(",
    "subprocess",
    "exec(",
    "eval(",
    "__import__(",
    "from . import ",
    "curl ",
    "| sh",
    "#",
    '"""',
    "\\",
  ),
  maxSize: 128 * 1024,
  structured: mutateJsonText,
  async run({ name, bytes }) {
    const text = dec.decode(bytes);
    if (name.endsWith(".json")) {
      await typedOnly("parseConfigJson", () => {
        codeReferences(parseConfigJson(text).value);
      });
    }
    if (name.endsWith(".py")) {
      await typedOnly("pythonRisks", () => pythonRisks(text));
      await typedOnly("pythonImports", () => pythonImports(text));
    }
    if (name.endsWith(".sh")) await typedOnly("shellRisks", () => shellRisks(text));
    await checkScan(bytes, name);
  },
};

// ---------------------------------------------------------------------------------------------
// pickle

const pickleTarget: FuzzTarget = {
  name: "pickle",
  description:
    "pickle engine: decoder, symbolic machine, policy (plain, PyTorch, NumPy, joblib streams), nested payloads",
  seeds: () => [
    ...samples("pickle", ext(".pkl", ".joblib", ".npy")),
    ...generatePickles(20261122, 60).map((g, i) => ({ name: `gen-${i}-p${g.protocol}.pkl`, bytes: g.bytes })),
  ],
  dictionary: tokens(
    "\x80\x02",
    "\x80\x04\x95",
    "cos\nsystem\n",
    "c__builtin__\neval\n",
    "\x8c\x08builtins\x94\x8c\x07getattr\x94\x93",
    "ccopyreg\nadd_extension\n",
    "\x82\x01",
    "(",
    "t",
    "R",
    "b",
    "\x81",
    "\x92",
    "\x93",
    "\x94",
    "h\x00",
    "q\x00",
    "0",
    "1",
    "2",
    ")",
    "}",
    "]",
    "Q",
    "P0\n",
    ".",
  ),
  maxSize: 128 * 1024,
  async run({ name, bytes }) {
    let unreadable = false;
    for (const context of ["pickle", "pytorch"] as const) {
      const rejected = await typedOnly(
        `analyzePickleStream(${context})`,
        async () => (await analyzePickleStream(new SourceInput(new BufferSource(bytes), 0), { context })).invalid,
      );
      if (context === "pickle") unreadable = rejected;
    }
    await checkScan(bytes, name, unreadable ? ["pickle"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// marshal (code objects inside pickles)

const marshalTarget: FuzzTarget = {
  name: "marshal",
  description: "CPython marshal (3.8–3.13 code objects, refs, all type codes), as found in pickled payloads",
  seeds: () => {
    const dir = join(REPO_ROOT, "test", "fuzz", "seeds", "marshal");
    return existsSync(dir)
      ? readdirSync(dir)
          .sort()
          .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }))
      : [];
  },
  dictionary: tokens(
    "\xe3",
    "\x63",
    "\x72",
    "\xf2",
    "\x29",
    "\x28",
    "\x5b",
    "\x7b",
    "\x30",
    "\x4e",
    "\x54",
    "\x46",
    "\x7a",
    "\xda",
  ),
  maxSize: 64 * 1024,
  async run({ bytes }) {
    await typedOnly("parseMarshal", () => parseMarshal(bytes));
  },
};

// ---------------------------------------------------------------------------------------------
// OMS signature bundles

const omsTrust = (() => {
  let cached: Array<Parameters<typeof verifyModel>[1]> | undefined;
  return () => {
    if (cached !== undefined) return cached;
    const read = (p: string) => readFileSync(join(REPO_ROOT, "samples", "integrity", p), "utf8");
    const identity = JSON.parse(read("keyless/identity.json")) as { identity: string; issuer: string };
    cached = [
      {},
      { publicKey: read("keys/p256.pub.pem") },
      { publicKey: read("keys/p384.pub.pem"), allowLegacy: true },
      { certificateChain: [read("pki/root-ca.pem")] },
      {
        trustedRoot: JSON.parse(read("keyless/trusted_root.json")) as Record<string, unknown>,
        identity: identity.identity,
        issuer: identity.issuer,
      },
    ];
    return cached;
  };
})();

const omsTarget: FuzzTarget = {
  name: "oms",
  description: "OpenSSF Model Signing bundles: sigstore bundle JSON, DSSE, in-toto statement, manifest, certificates",
  seeds: () => samples("integrity", ext(".sig")),
  dictionary: tokens(
    '"mediaType"',
    '"dsseEnvelope"',
    '"payload"',
    '"payloadType"',
    '"signatures"',
    '"verificationMaterial"',
    '"publicKey"',
    '"x509CertificateChain"',
    '"certificate"',
    '"tlogEntries"',
    '"rawBytes"',
    '"sig"',
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.in-toto+json",
    "eyJ",
    "==",
    "null",
    "[]",
  ),
  maxSize: 128 * 1024,
  structured: mutateBundle,
  async run({ name, bytes }) {
    await typedOnly("classifySignatureFile", () => classifySignatureFile(bytes));
    await typedOnly("parseBundle", () => parseBundle(bytes));
    // The trust material rotates with the input, so every verification method sees mutants.
    const trust = omsTrust();
    const options = trust[bytes.length % trust.length] ?? {};
    await typedOnly("verifyModel", async () => {
      const result = await verifyModel(join(REPO_ROOT, "samples", "integrity", "model"), {
        ...options,
        signature: bytes,
        time: new Date("2026-06-01T00:00:00Z"),
      });
      if (result.status === "verified") {
        // a signature that verifies must cover exactly the files present
        if (result.files.some((f) => f.status !== "ok")) {
          throw new Error("verified with a file that is not ok");
        }
      }
    });
    await checkScan(bytes, name);
  },
};

// ---------------------------------------------------------------------------------------------
// R serialization

/** The R samples, gzip'ed ones decoded (the fuzzer mutates the stream, not the deflate data). */
function rSeeds(): FuzzInput[] {
  const out: FuzzInput[] = [];
  for (const seed of samples("r", ext(".rds", ".RData", ".rda"))) {
    if (seed.bytes[0] === 0x1f && seed.bytes[1] === 0x8b)
      out.push({ name: seed.name, bytes: new Uint8Array(gunzipSync(seed.bytes)) });
    else if (seed.bytes[0] !== 0x42 || seed.bytes[1] !== 0x5a) out.push(seed);
  }
  const echo = (b: ReturnType<typeof xdr>) => b.str("echo pwned");
  out.push({
    name: "promise.rds",
    bytes: xdr()
      .promise((b) => b.call("system", echo))
      .stream(),
  });
  out.push({
    name: "closure.rds",
    bytes: xdr()
      .closure((b) => b.call("do.call", (x) => x.str("system"), echo))
      .stream(2),
  });
  return out;
}

const rTarget: FuzzTarget = {
  name: "r",
  description: "R serialization (XDR, native, ASCII; rds and save() workspaces): SEXP walk, bytecode, references",
  seeds: rSeeds,
  dictionary: tokens(
    "X\n",
    "A\n",
    "B\n",
    "RDX3\n",
    "\x00\x00\x00\xfe",
    "\x00\x00\x00\xff",
    "\x00\x00\x01\xff",
    "\x00\x00\x00\x05",
    "\x00\x00\x00\x06",
    "\x00\x00\x00\x15",
    "\x00\x00\x00\xee",
    "\x00\x00\x00\xf3",
    "\x00\x00\x00\xf4",
    "\x00\x00\x04\x02",
    "\xff\xff\xff\xff",
    "\x7f\xff\xff\xff",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("RWalker", async () => {
      const header = parseRHeader(bytes.subarray(0, 512));
      if (typeof header === "string") return true;
      // pre-1.0 workspaces are reported, not parsed (r/legacy-workspace)
      if (header.legacy === "pre-1.0") return false;
      const input = new RInput(new BufferSource(bytes), header.itemStart, header.format);
      const walker =
        header.legacy === "v1"
          ? new V1Walker(input, new RInspector(), { maxItems: 1_000_000 })
          : new RWalker(input, new RInspector(), { maxItems: 1_000_000 });
      await walker.top(header.kind === "rdata");
      return false;
    });
    await checkScan(bytes, name, unreadable ? ["rds", "rdata"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// flatbuffer models: TFLite and ExecuTorch

const tfliteTarget: FuzzTarget = {
  name: "tflite",
  description: "TFLite flatbuffer: vtables, offsets, vectors, strings, operator codes, buffers, metadata",
  seeds: () => [
    ...samples("tflite", ext(".tflite")),
    {
      name: "built.tflite",
      bytes: tfliteModel([{ builtin: 0 }, { builtin: 32, custom: "FlexReadFile" }], {
        buffers: [{}, { data: "abcd" }, { offset: 8, size: 4 }],
        metadata: [{ name: "min_runtime_version", buffer: 1 }],
      }),
    },
  ],
  dictionary: tokens("TFL3", "\x00\x00\x00\x80", "\xff\xff\xff\xff", "\x04\x00", "Flex", "FlexPyFunc", "\x20"),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readTflite", async () => {
      const { summary, error } = await readTflite(new BufferSource(bytes), { budgets: { maxTables: 100_000 } });
      return error !== undefined || summary.issues.length > 0 || summary.identifier !== "TFL3";
    });
    await checkScan(bytes, name, unreadable ? ["tflite"] : []);
  },
};

const executorchTarget: FuzzTarget = {
  name: "executorch",
  description: "ExecuTorch .pte: extended header, program flatbuffer, plans, delegates, segments",
  seeds: () => [
    ...samples("executorch", ext(".pte")),
    {
      name: "built.pte",
      bytes: withExtendedHeader(
        pteProgram({
          delegates: [{ id: "XnnpackBackend", location: 0, index: 0 }],
          inline: ["blob"],
          segments: [{ offset: 0, size: 4 }],
          calls: [0],
        }),
        0,
      ),
    },
  ],
  dictionary: tokens("ET12", "eh00", "\x18\x00\x00\x00", "\x00\x00\x00\x80", "\xff\xff\xff\xff", "aten::"),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readExecutorch", async () => {
      const { summary, error } = await readExecutorch(new BufferSource(bytes), { budgets: { maxTables: 100_000 } });
      return (
        error !== undefined ||
        summary.issues.length > 0 ||
        summary.identifier !== "ET12" ||
        (summary.header !== undefined && summary.header.magic !== "eh00")
      );
    });
    await checkScan(bytes, name, unreadable ? ["executorch"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// skops and Paddle

/** The members of a stored/deflated zip, by name. */
function zipMembers(zip: Uint8Array): { name: string; data: Uint8Array }[] {
  const out: { name: string; data: Uint8Array }[] = [];
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  for (let at = 0; at + 30 <= zip.length; at++) {
    if (view.getUint32(at, true) !== 0x04034b50) continue;
    const method = view.getUint16(at + 8, true);
    const csize = view.getUint32(at + 18, true);
    const nlen = view.getUint16(at + 26, true);
    const xlen = view.getUint16(at + 28, true);
    const name = dec.decode(zip.subarray(at + 30, at + 30 + nlen));
    const data = zip.subarray(at + 30 + nlen + xlen, at + 30 + nlen + xlen + csize);
    try {
      const bytes = method === 0 ? new Uint8Array(data) : method === 8 ? new Uint8Array(inflateRaw(data)) : undefined;
      if (bytes !== undefined) out.push({ name, data: bytes });
    } catch {
      // not a member
    }
  }
  return out;
}

/** A tiny .npy array the mutated schemas can reference. */
const NPY = (() => {
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
  const padded = `${header.padEnd(117, " ")}\n`;
  return new Uint8Array([
    0x93,
    ...enc.encode("NUMPY"),
    1,
    0,
    padded.length & 0xff,
    padded.length >> 8,
    ...enc.encode(padded),
    ...new Uint8Array(8),
  ]);
})();

const skopsTarget: FuzzTarget = {
  name: "skops",
  description: "skops schema.json trees (loaders, types, file references) inside a .skops zip",
  seeds: () =>
    samples("skops", ext(".skops")).flatMap((s) =>
      zipMembers(s.bytes)
        .filter((m) => m.name === "schema.json")
        .map((m) => ({ name: `${s.name}.schema.json`, bytes: m.data })),
    ),
  dictionary: tokens(
    '"__loader__"',
    '"__module__"',
    '"__class__"',
    '"content"',
    '"file"',
    '"key_types"',
    '"FunctionNode"',
    '"TypeNode"',
    '"ObjectNode"',
    '"MethodNode"',
    '"PartialNode"',
    '"CachedNode"',
    '"1.npy"',
    '"os"',
    '"system"',
    '"builtins"',
    '"eval"',
    "[",
    "]",
    "{",
    "}",
  ),
  maxSize: 128 * 1024,
  structured: mutateJsonText,
  async run({ bytes }) {
    const members = new Set(["schema.json", "1.npy", "17.npy"]);
    const unreadable = await typedOnly("analyzeSchema", () => {
      const value = parseStrictJson(dec.decode(bytes), { maxDepth: 512, allowNonFinite: true }).value;
      const result = analyzeSchema(value, members);
      return result.findings.some((f) => f.ruleId === "skops/malformed" || f.ruleId === "skops/missing-file");
    });
    const zip = buildZip([
      { name: "schema.json", data: bytes, method: 8 },
      { name: "1.npy", data: NPY },
      { name: "17.npy", data: NPY },
    ]);
    await checkScan(zip, "model.skops", unreadable ? ["skops"] : []);
  },
};

const paddleTarget: FuzzTarget = {
  name: "paddle",
  description: "Paddle ProgramDesc protobuf (.pdmodel): blocks, operators, attributes",
  seeds: () => samples("paddle", ext(".pdmodel")),
  dictionary: tokens(
    "\x0a",
    "\x12",
    "\x1a",
    "\x22",
    "\x08\x00\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    "py_func",
    "save_combine",
    "load",
    "file_path",
    "forward_callable_id",
    "\xff\xff\xff\xff\x0f",
  ),
  maxSize: 64 * 1024,
  structured: mutateProtobuf,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readPaddleProgram", async () => {
      const program = await readPaddleProgram(new BufferSource(bytes), { maxFields: 1_000_000 }, () => {});
      return program.missingRequired.length > 0;
    });
    await checkScan(bytes, name, unreadable ? ["paddle-program"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// XML (OpenVINO IR, PMML) and Core ML

const xmlTarget: FuzzTarget = {
  name: "xml",
  description: "XML layer (saxes, DOCTYPE classification, budgets) through OpenVINO IR and PMML documents",
  seeds: () => [
    ...samples("openvino", ext(".xml")),
    ...samples("pmml", ext(".pmml")),
    {
      name: "m.xml",
      bytes: enc.encode('<!DOCTYPE net [<!ENTITY % p SYSTEM "x"> %p;]><net version="11"><layers/></net>'),
    },
  ],
  dictionary: tokens(
    "<!DOCTYPE net [",
    "]>",
    "<!ENTITY x SYSTEM 'file:///etc/passwd'>",
    '<!ENTITY a "&b;&b;">',
    "<!ENTITY % p ",
    "&x;",
    "&#x41;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version='1.0' encoding='UTF-8'?>",
    '<layer id="1" type="X" version="ext">',
    "</layer>",
    "<rt_info>",
    '<Extension value="com.a.B">',
    '<Apply function="java.lang.Runtime">',
    'xmlns:p="u"',
    "<p:",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const broken = await typedOnly(
      "readXml",
      async () => (await readXml(new BufferSource(bytes), {})).error !== undefined,
    );
    const xmlName = name.endsWith(".pmml") ? name : "model.xml";
    await checkScan(bytes, xmlName, broken ? ["openvino-ir", "pmml"] : []);
  },
};

const coremlTarget: FuzzTarget = {
  name: "coreml",
  description:
    "Core ML .mlmodel protobuf: model types, pipelines, neural network layers, custom and linked models, ML Programs",
  seeds: () => samples("coreml", ext(".mlmodel")),
  dictionary: tokens(
    "\x08\x04",
    "\x12",
    "\xe2\x0c",
    "\xa2\x1f",
    "\xb2\x1f",
    "@model_path/",
    "custom_layer",
    "\xda\x22",
    "\xe2\x22",
    "\xa2\x1f\x02\x0a\x00",
    "\xd2\x0f",
    "\x0a",
    "\x52",
    "\xff\xff\xff\xff\x0f",
  ),
  maxSize: 64 * 1024,
  structured: mutateProtobuf,
  async run({ bytes }) {
    const unreadable = await typedOnly(
      "readCoremlPartial",
      async () => (await readCoremlPartial(new BufferSource(bytes))).error !== undefined,
    );
    await checkScan(bytes, "model.mlmodel", unreadable ? ["coreml"] : []);
  },
};

const coremlWeightsTarget: FuzzTarget = {
  name: "coreml-weights",
  description: "Core ML ML Program weight files (MIL blob storage v2): header, metadata records, dtypes, extents",
  seeds: () => samples("coreml", ext(".bin")),
  dictionary: tokens(
    "\xef\xbe\xad\xde",
    "\x02\x00\x00\x00",
    "\x40\x00\x00\x00\x00\x00\x00\x00",
    "\x0c\x00\x00\x00",
    "\xff\xff\xff\xff",
  ),
  maxSize: 64 * 1024,
  async run({ bytes }) {
    const unreadable = await typedOnly("readMilWeights", async () => {
      await readMilWeights(new BufferSource(bytes), { maxBlobs: 100_000 });
      return false;
    });
    await checkScan(bytes, "weight.bin", unreadable ? ["coreml-weights"] : []);
  },
};

/**
 * A target with planted bugs, to check the harness end to end (`MODELGATE_FUZZ_SELFTEST=1 npm run
 * fuzz -- --targets=selftest --time=60` must save a crash, a hang, a memory and an exit failure).
 * Inputs starting with `C` crash, `H` hang, `M` allocate 512 MiB and touch it, `A` ask for 1 GiB,
 * `X` exhaust the V8 heap.
 */
const selftestTarget: FuzzTarget = {
  name: "selftest",
  description: "planted bugs, to check the harness (only with MODELGATE_FUZZ_SELFTEST=1)",
  seeds: () => [{ name: "a.bin", bytes: enc.encode("ok") }],
  dictionary: tokens("C", "H", "M", "A", "X"),
  maxSize: 64,
  async run({ bytes }) {
    const c = bytes[0];
    if (c === 0x43) await typedOnly("selftest", () => (null as unknown as { x: number }).x);
    if (c === 0x48) for (;;);
    if (c === 0x4d) new Uint8Array(512 * 1024 * 1024).fill(1, 0, 512 * 1024 * 1024);
    if (c === 0x41) new ArrayBuffer(1024 * 1024 * 1024);
    if (c === 0x58) {
      const keep: unknown[] = [];
      for (;;) keep.push({ a: keep.length, b: [keep.length] });
    }
  },
};

/** Every target, by name. */
// ---------------------------------------------------------------------------------------------
// Torch7 and GGML (pre-GGUF)

const torch7Target: FuzzTarget = {
  name: "torch7",
  description: "Lua Torch7 torch.File streams (binary and ASCII): tags, references, classes, tensors, functions",
  seeds: () => samples("torch7", ext(".t7")),
  dictionary: tokens(
    "\x04\x00\x00\x00",
    "\x03\x00\x00\x00",
    "\x08\x00\x00\x00",
    "\x06\x00\x00\x00",
    "\x03\x00\x00\x00V 1",
    "torch.FloatTensor",
    "torch.FloatStorage",
    "nn.Linear",
    "\x1bLuaQ",
    "\xff\xff\xff\x7f",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readTorch7", async () => {
      const r = await readTorch7(new BufferSource(bytes), { maxObjects: 100_000 });
      return r.error !== undefined;
    });
    await checkScan(bytes, name, unreadable ? ["torch7"] : []);
  },
};

const ggmlTarget: FuzzTarget = {
  name: "ggml",
  description: "pre-GGUF ggml/ggmf/ggjt files: hyperparameters, vocabulary, tensor headers, llama and whisper layouts",
  seeds: () => samples("ggml", ext(".bin", ".ggml")),
  dictionary: tokens(
    "lmgg",
    "fmgg",
    "tjgg",
    "\x03\x00\x00\x00",
    "\x01\x00\x00\x00",
    "\x0c\x00\x00\x00",
    "\xff\xff\xff\x7f",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readGgml", async () => {
      const f = await readGgml(new BufferSource(bytes), { maxTensors: 100_000 });
      return f.issues.length > 0;
    });
    await checkScan(bytes, name, unreadable ? ["ggml"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// Images and audio (PNG, JPEG, GIF, WebP, WAV, FLAC, Ogg, MP3) and SVG

const mediaTarget: FuzzTarget = {
  name: "media",
  description: "images and audio read to the end of their structure (chunks, segments, blocks, pages, frames), SVG",
  seeds: () => samples("media", ext(".png", ".jpg", ".jpeg", ".gif", ".webp", ".wav", ".flac", ".ogg", ".mp3", ".svg")),
  dictionary: tokens(
    "\x89PNG\r\n\x1a\n",
    "IHDR",
    "IDAT",
    "IEND",
    "\xff\xd8\xff",
    "\xff\xda",
    "\xff\xd9",
    "GIF89a",
    "!\xf9\x04",
    "RIFF",
    "WEBPVP8 ",
    "VP8L",
    "WAVEfmt ",
    "data",
    "fLaC",
    "OggS\x00",
    "ID3\x04\x00",
    "\xff\xfb\x90",
    "\xff\xff\xff\x7f",
    "<script>",
    ' onload="',
    "javascript:",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const head = bytes.subarray(0, 65536);
    const found = sniff({ head, tail: bytes.subarray(-65558), size: bytes.length, name })[0]?.format;
    const format = MEDIA_FORMATS.find((f) => f === found);
    // Every format's reader on every input: a reader must reject what is not its format, typed.
    let unreadable = false;
    for (const f of MEDIA_FORMATS) {
      const rejected = await typedOnly(`readMedia ${f}`, async () => {
        const info = await readMedia(new BufferSource(bytes), f as MediaFormat, { maxUnits: 100_000 });
        if (info.end > bytes.length) throw new Error(`${f}: end ${info.end} past the input`);
        return false;
      });
      if (f === format) unreadable = rejected;
    }
    await checkScan(bytes, name, unreadable && format !== undefined ? [format] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// YAML (hparams, hydra/omegaconf configs, NeMo model_config.yaml, MLflow MLmodel)

const yamlTarget: FuzzTarget = {
  name: "yaml",
  description:
    "YAML configs: lexical pass (tags, %TAG handles), composition under budgets, alias expansion, hydra targets",
  seeds: () => [
    ...samples("yaml", () => true),
    ...samples("mlflow", (p) => /MLmodel$|\.ya?ml$/.test(p)),
    {
      name: "anchors.yaml",
      bytes: enc.encode("a: &a [1, {b: *a}]\n? complex\n: !!set {x}\n---\n%TAG !p! tag:x,2000:\n"),
    },
  ],
  dictionary: tokens(
    "!!python/object/apply:",
    "!!python/name:",
    "!!python/tuple",
    "%TAG !p! tag:yaml.org,2002:python/\n---\n",
    "%YAML 1.1\n",
    "!p!object:",
    "!<tag:yaml.org,2002:python/module:os>",
    "%2F",
    "&a ",
    "*a",
    "<<: ",
    "_target_: ",
    "_args_: [",
    "${eval:",
    "${oc.env:",
    "\n- ",
    ": ",
    "? ",
    "[",
    "]",
    "{",
    "}",
    "|\n  ",
    ">-\n  ",
    '"',
    "'",
    "\n---\n",
    "\n...\n",
    "\t",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const policy = picklePolicy("pickle");
    const unreadable = await typedOnly("analyzeYamlText", () => {
      // Decoded as the scan decodes it (and PyYAML: UTF-16 after its byte-order mark, else UTF-8).
      const text = decodeUtf16(bytes) ?? dec.decode(bytes);
      const result = analyzeYamlText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
        policy,
        topLevelTarget: "all",
      });
      return result.exceeded !== undefined || !result.ok;
    });
    await checkScan(bytes, /\.ya?ml$/.test(name) ? name : `${name}.yaml`, unreadable ? ["yaml"] : []);
  },
};

// ---------------------------------------------------------------------------------------------
// Data-only model formats: Flax/msgpack, XGBoost UBJSON + legacy binary, MXNet NDArray lists

const msgpackTarget: FuzzTarget = {
  name: "msgpack",
  description: "msgpack (Flax checkpoints, msgpack-numpy): maps, lengths, ndarray extensions, object dtypes",
  seeds: () => samples("msgpack", ext(".msgpack")),
  dictionary: tokens(
    "\xc7",
    "\xc9",
    "\x01",
    "\x03",
    "\x93",
    "\x91",
    "\xc4",
    "\xc6",
    "\xdf\xff\xff\xff\xff",
    "\xa7float32",
    "\xa6object",
    "\xa2nd",
    "\xa4kind",
    "\xc1",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readMsgpack", async () => {
      const s = await readMsgpack(new BufferSource(bytes), { maxItems: 100_000 });
      return anyInvalidating(s.issues.list().map((i) => i.ruleId));
    });
    await checkScan(bytes, name, unreadable ? ["flax-msgpack"] : []);
  },
};

const xgboostTarget: FuzzTarget = {
  name: "xgboost",
  description: "XGBoost UBJSON (typed and counted containers) and the legacy binary layout",
  seeds: () => samples("xgboost", ext(".ubj", ".bin", ".model")),
  dictionary: tokens(
    "{L\x00\x00\x00\x00\x00\x00\x00\x07learner",
    "[$d#L",
    "[$l#L",
    "[#L",
    "binf",
    "gbtree",
    "dart",
    "\xff\xff\xff\x7f",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("xgboost", async () => {
      const start = legacyBinaryStart(bytes);
      if (bytes[0] === 0x7b) {
        const { issues, isModel } = validateModel(
          await readUbjson(new BufferSource(bytes), { maxValues: 1_000_000 }),
          "ubjson",
        );
        return !isModel || anyInvalidating(issues.map((i) => i.ruleId));
      }
      if (start === undefined) return false;
      const r = await readLegacyBinary(new BufferSource(bytes), start, { maxTrees: 10_000, maxNodes: 1_000_000 });
      return anyInvalidating(r.issues.map((i) => i.ruleId));
    });
    await checkScan(bytes, name, unreadable ? ["xgboost"] : []);
  },
};

const catboostTarget: FuzzTarget = {
  name: "catboost",
  description: "CatBoost .cbm: CBM1 envelope, TModelCore flatbuffer, info map, TModelTrees counts and consistency",
  seeds: () => samples("catboost", ext(".cbm")),
  dictionary: tokens("CBM1", "\x00\x00\x00\x00", "\x01\x00\x00\x00", "\x10\x00\x00\x00", "\xff\xff\xff\x7f"),
  maxSize: 64 * 1024,
  async run({ bytes }) {
    const unreadable = await typedOnly("readCbm", async () => {
      await readCbm(new BufferSource(bytes), { maxEntries: 1_000_000 });
      return false;
    });
    await checkScan(bytes, "model.cbm", unreadable ? ["catboost"] : []);
  },
};

const tfCheckpointTarget: FuzzTarget = {
  name: "tfcheckpoint",
  description:
    "TensorFlow checkpoint .index: table footer, blocks, entries, BundleHeader/BundleEntry protos, shard extents",
  seeds: () => samples("tfcheckpoint", ext(".index")),
  dictionary: tokens(
    "\x57\xfb\x80\x8b\x24\x75\x47\xdb",
    "\x00\x00\x00\x00\x01\x00\x00\x00",
    "\x18\x01",
    "\x20",
    "\x28",
  ),
  maxSize: 64 * 1024,
  async run({ bytes }) {
    const unreadable = await typedOnly("readCheckpointIndex", async () => {
      await readCheckpointIndex(new BufferSource(bytes), { maxEntries: 1_000_000 });
      return false;
    });
    await checkScan(bytes, "model.ckpt.index", unreadable ? ["tf-checkpoint"] : []);
  },
};

const mxnetParamsTarget: FuzzTarget = {
  name: "mxnet-params",
  description: "MXNet NDArray lists: array headers V1/V2/V3/legacy, sparse storage, names",
  seeds: () => samples("mxnet", ext(".params")),
  dictionary: tokens(
    "\xc9\xfa\x93\xf9",
    "\xca\xfa\x93\xf9",
    "\xc8\xfa\x93\xf9",
    "\x01\x00\x00\x00",
    "\x02\x00\x00\x00",
    "\xff\xff\xff\xff",
  ),
  maxSize: 64 * 1024,
  async run({ name, bytes }) {
    const unreadable = await typedOnly("readNdarrayList", async () => {
      await readNdarrayList(new BufferSource(bytes), { maxArrays: 10_000 });
      return false;
    });
    await checkScan(bytes, name, unreadable ? ["mxnet-params"] : []);
  },
};

export const TARGETS: ReadonlyMap<string, FuzzTarget> = new Map(
  [
    pickleTarget,
    zipTarget,
    tarTarget,
    compressedTarget,
    sevenZipTarget,
    safetensorsTarget,
    ggufTarget,
    onnxTarget,
    hdf5Target,
    kerasTarget,
    savedModelTarget,
    templateTarget,
    hfTarget,
    marshalTarget,
    rTarget,
    omsTarget,
    tfliteTarget,
    executorchTarget,
    skopsTarget,
    paddleTarget,
    torch7Target,
    ggmlTarget,
    mediaTarget,
    yamlTarget,
    xmlTarget,
    coremlTarget,
    coremlWeightsTarget,
    msgpackTarget,
    xgboostTarget,
    mxnetParamsTarget,
    catboostTarget,
    tfCheckpointTarget,
    ...(process.env.MODELGATE_FUZZ_SELFTEST === "1" ? [selftestTarget] : []),
  ].map((t) => [t.name, t]),
);
