/**
 * Format recognition by content. The extension is only a hint: it breaks ties between textual
 * formats and nothing else.
 * @module
 */
import { tarChecksumMatches } from "../containers/tar/reader.js";
import type { Detection, Format } from "../core/formats.js";
import { looksLikePickle } from "./pickle-sniff.js";
import { detectSavedModelByName } from "./savedmodel/detect.js";
import { startsLikeJinja } from "./template/detect.js";

/** What the sniffer looks at. */
export interface SniffInput {
  /** The first bytes (up to 64 KiB). */
  readonly head: Uint8Array;
  /** The last bytes (up to 64 KiB + 22, for the zip end-of-central-directory record); may equal `head`. */
  readonly tail: Uint8Array;
  /** Total size of the input. */
  readonly size: number;
  /** File or member name (hint only). */
  readonly name: string;
}

/** A detector returns a detection or nothing. */
type Detector = (input: SniffInput) => Detection | undefined;

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

const magic =
  (format: Format, bytes: readonly number[], reason: string): Detector =>
  ({ head }) =>
    startsWith(head, bytes) ? { format, offset: 0, reason } : undefined;

const extension = (name: string): string => {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const dot = base.lastIndexOf(".");
  return dot <= 0 ? "" : base.slice(dot + 1);
};

/** PyTorch legacy files open with a pickled magic number 0x1950a86a20f9469cfc6c (LONG1). */
const TORCH_LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

const detectTorchLegacy: Detector = ({ head }) => {
  const at = head[0] === 0x80 ? 2 : 0;
  return startsWith(head, TORCH_LEGACY_MAGIC, at)
    ? { format: "pytorch-legacy", offset: 0, reason: "pickled PyTorch legacy magic number" }
    : undefined;
};

const detectPickle: Detector = ({ head, size }) => {
  const protocol = looksLikePickle(head, size);
  return protocol === undefined
    ? undefined
    : { format: "pickle", offset: 0, reason: `pickle opcodes (protocol ${protocol})` };
};

const detectNumpy = magic("numpy", [0x93, ...ascii("NUMPY")], "NumPy .npy magic");
const detectGguf: Detector = ({ head }) => {
  if (!startsWith(head, ascii("GGUF")) || head.length < 8) return undefined;
  const le = head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24);
  const be = (head[4]! << 24) | (head[5]! << 16) | (head[6]! << 8) | head[7]!;
  const plausible = (v: number) => v >= 1 && v <= 3;
  return plausible(le) || plausible(be)
    ? { format: "gguf", offset: 0, reason: `GGUF magic, version ${plausible(le) ? le : be}` }
    : { format: "gguf", offset: 0, reason: "GGUF magic, unknown version" };
};

const detectSafetensors: Detector = ({ head, size, name }) => {
  if (head.length < 9) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = view.getBigUint64(0, true);
  const byName = extension(name) === "safetensors";
  let i = 8;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  const plausible = n >= 2n && n <= 100_000_000n && 8n + n <= BigInt(size) && head[i] === 0x7b;
  if (plausible) return { format: "safetensors", offset: 0, reason: `safetensors header of ${n} bytes` };
  return byName ? { format: "safetensors", offset: 0, reason: "named .safetensors (header not plausible)" } : undefined;
};

const HDF5_MAGIC = [0x89, ...ascii("HDF"), 0x0d, 0x0a, 0x1a, 0x0a];
const detectHdf5: Detector = ({ head }) => {
  // The superblock sits at 0 or after a user block of 512, 1024, 2048 ... bytes.
  for (let at = 0; at + HDF5_MAGIC.length <= head.length; at = at === 0 ? 512 : at * 2) {
    if (startsWith(head, HDF5_MAGIC, at)) return { format: "hdf5", offset: at, reason: `HDF5 superblock at ${at}` };
  }
  return undefined;
};

const EOCD = [0x50, 0x4b, 0x05, 0x06];
const EOCD_BYTES = Buffer.from(EOCD);
const detectZip: Detector = ({ head, tail, size }) => {
  if (
    startsWith(head, [0x50, 0x4b, 0x03, 0x04]) ||
    startsWith(head, EOCD) ||
    startsWith(head, [0x50, 0x4b, 0x07, 0x08])
  ) {
    return { format: "zip", offset: 0, reason: "zip local header at 0" };
  }
  // End of central directory near the end: a zip with data prepended (polyglot) or an odd layout.
  const view = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let i = view.lastIndexOf(EOCD_BYTES); i >= 0; i = i === 0 ? -1 : view.lastIndexOf(EOCD_BYTES, i - 1)) {
    if (i + 22 > tail.length) continue;
    const commentLength = tail[i + 20]! | (tail[i + 21]! << 8);
    if (i + 22 + commentLength === tail.length) {
      return { format: "zip", offset: size - tail.length + i, reason: "zip end-of-central-directory record" };
    }
  }
  return undefined;
};

const detectTar: Detector = ({ head }) => {
  if (head.length < 512) return undefined;
  const ustar = startsWith(head, ascii("ustar"), 257);
  // Checksum as GNU tar or Python's tarfile (which torch.load uses for legacy checkpoints) reads it.
  if (tarChecksumMatches(head.subarray(0, 512)) && head[0] !== 0) {
    return { format: "tar", offset: 0, reason: ustar ? "ustar header" : "tar header checksum" };
  }
  // GNU tar still extracts an archive whose first checksum is wrong: the magic alone is enough
  // to walk it (the tar analyzer reports the bad checksum).
  const magic = startsWith(head, [...ascii("ustar"), 0, 0x30, 0x30], 257) || startsWith(head, ascii("ustar  \0"), 257);
  return magic ? { format: "tar", offset: 0, reason: "ustar magic (header checksum wrong)" } : undefined;
};

const detectBz2: Detector = ({ head }) =>
  startsWith(head, ascii("BZh")) &&
  head[3]! >= 0x31 &&
  head[3]! <= 0x39 &&
  (startsWith(head, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4) ||
    startsWith(head, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90], 4))
    ? { format: "bz2", offset: 0, reason: "bzip2 stream header" }
    : undefined;

const detectZlib: Detector = ({ head }) => {
  if (head.length < 2 || head[0] !== 0x78) return undefined;
  const ok = ((head[0]! << 8) | head[1]!) % 31 === 0 && (head[1]! & 0x20) === 0;
  return ok ? { format: "zlib", offset: 0, reason: "zlib stream header" } : undefined;
};

const detectLzma: Detector = ({ head }) => {
  // LZMA "alone": properties byte (lc/lp/pb, usually 0x5d), dictionary size, 64-bit size.
  if (head.length < 13 || head[0]! >= 225) return undefined;
  const dict = (head[1]! | (head[2]! << 8) | (head[3]! << 16) | (head[4]! << 24)) >>> 0;
  // What liblzma's .lzma auto-detection accepts (Python's lzma.open, joblib): a dictionary of 2^n
  // or 2^n + 2^(n-1) bytes (or UINT32_MAX), and an unknown size or one below 2^38.
  const low = (dict & -dict) >>> 0;
  const dictOk = dict === 0xffffffff || (dict !== 0 && (dict === low || dict === low * 3));
  const sizeUnknown = head.subarray(5, 13).every((b) => b === 0xff);
  const sizeOk = sizeUnknown || (head[9]! < 0x40 && head[10] === 0 && head[11] === 0 && head[12] === 0);
  return head[0] === 0x5d && dictOk && sizeOk ? { format: "lzma", offset: 0, reason: "LZMA-alone header" } : undefined;
};

const detectExecutable: Detector = ({ head }) => {
  if (startsWith(head, [0x7f, ...ascii("ELF")])) return { format: "executable", offset: 0, reason: "ELF binary" };
  if (startsWith(head, ascii("MZ")) && head.length >= 0x40) {
    const pe = head[0x3c]! | (head[0x3d]! << 8) | (head[0x3e]! << 16);
    if (startsWith(head, [0x50, 0x45, 0, 0], pe)) return { format: "executable", offset: 0, reason: "PE binary" };
  }
  for (const m of [
    [0xfe, 0xed, 0xfa, 0xce],
    [0xfe, 0xed, 0xfa, 0xcf],
    [0xce, 0xfa, 0xed, 0xfe],
    [0xcf, 0xfa, 0xed, 0xfe],
  ]) {
    if (startsWith(head, m)) return { format: "executable", offset: 0, reason: "Mach-O binary" };
  }
  return undefined;
};

/** Reads a protobuf varint; returns [value, next] or undefined. */
function varint(bytes: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/** Top-level protobuf fields of the head: [field number, wire type, start of payload, length]. */
function protobufFields(head: Uint8Array, size: number): Array<[number, number, number, number]> | undefined {
  const fields: Array<[number, number, number, number]> = [];
  let at = 0;
  while (at < head.length && fields.length < 64) {
    const tag = varint(head, at);
    if (tag === undefined) return fields.length >= 2 ? fields : undefined;
    const [key, next] = tag;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1 || field > 536_870_911) return undefined;
    let end: number;
    if (wire === 0) {
      const v = varint(head, next);
      if (v === undefined) return fields.length >= 2 ? fields : undefined;
      fields.push([field, wire, next, v[1] - next]);
      end = v[1];
    } else if (wire === 1 || wire === 5) {
      end = next + (wire === 1 ? 8 : 4);
      fields.push([field, wire, next, end - next]);
    } else if (wire === 2) {
      const len = varint(head, next);
      if (len === undefined) return fields.length >= 2 ? fields : undefined;
      end = len[1] + len[0];
      if (end > size) return undefined;
      fields.push([field, wire, len[1], len[0]]);
    } else {
      return undefined;
    }
    at = end;
  }
  return fields.length >= 2 && at <= size ? fields : undefined;
}

const isPrintable = (bytes: Uint8Array): boolean => bytes.every((b) => b >= 0x20 && b < 0x7f);

const detectProtobuf: Detector = ({ head, size, name }) => {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const ext = extension(name);
  const fields = protobufFields(head, size);
  if (fields === undefined) {
    if (ext === "onnx") return { format: "onnx", offset: 0, reason: "named .onnx (not valid protobuf)" };
    return detectSavedModelByName(name);
  }
  const [first] = fields;
  if (base === "saved_model.pb" || base === "keras_metadata.pb") {
    return { format: "tf-savedmodel", offset: 0, reason: `protobuf named ${base}` };
  }
  // ONNX ModelProto opens with ir_version (field 1, varint) and names its producer in field 2.
  const producer = fields.find(([f, w]) => f === 2 && w === 2);
  const onnxLike =
    first !== undefined &&
    first[0] === 1 &&
    first[1] === 0 &&
    (producer === undefined ||
      isPrintable(head.subarray(producer[2], Math.min(head.length, producer[2] + producer[3])))) &&
    fields.every(([f]) => [1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26].includes(f));
  if (onnxLike || ext === "onnx") return { format: "onnx", offset: 0, reason: "ONNX ModelProto fields" };
  const savedModelLike =
    first !== undefined && first[0] === 1 && first[1] === 0 && fields.some(([f, w]) => f === 2 && w === 2);
  if (savedModelLike && ext === "pb") return { format: "tf-savedmodel", offset: 0, reason: "SavedModel fields" };
  return ext === "pb" || ext === "pbtxt" ? { format: "protobuf", offset: 0, reason: "protobuf fields" } : undefined;
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes `head` as UTF-8 text; a multi-byte character cut at the end of the head is tolerated. */
function asText(head: Uint8Array, complete: boolean): string | undefined {
  if (head.includes(0)) return undefined;
  for (let cut = 0; cut <= (complete ? 0 : 3) && cut < head.length; cut++) {
    try {
      return utf8.decode(head.subarray(0, head.length - cut));
    } catch {
      // try dropping a partial trailing character
    }
  }
  return undefined;
}

const detectText: Detector = ({ head, size, name }) => {
  if (head.length === 0) return undefined;
  const text = asText(head, head.length === size);
  if (text === undefined) return undefined;
  const ext = extension(name);
  const trimmed = text.replace(/^\uFEFF/, "").trimStart();
  if (startsLikeJinja(trimmed)) return { format: "jinja", offset: 0, reason: "opens with a Jinja delimiter" };
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    if (/"mediaType"\s*:\s*"application\/vnd\.dev\.sigstore\.bundle/.test(text) || /"dsseEnvelope"/.test(text)) {
      return { format: "oms-signature", offset: 0, reason: "Sigstore bundle JSON" };
    }
    if (/"nbformat"\s*:/.test(text) && /"cells"\s*:/.test(text)) {
      return { format: "notebook", offset: 0, reason: "Jupyter notebook JSON" };
    }
    if (ext === "json" || /^[{[]\s*["{[\]}]/.test(trimmed)) return { format: "json", offset: 0, reason: "JSON text" };
  }
  if (trimmed.startsWith("#!")) {
    const line = trimmed.slice(0, trimmed.indexOf("\n") >>> 0);
    return /python/.test(line)
      ? { format: "python", offset: 0, reason: "python shebang" }
      : { format: "shell", offset: 0, reason: "shebang script" };
  }
  if (ext === "py" || /^(?:from\s+[\w.]+\s+import\s|import\s+[\w.]+|def\s+\w+\s*\(|class\s+\w+[(:])/m.test(text)) {
    if (ext === "py" || !/\{[%{]/.test(text)) return { format: "python", offset: 0, reason: "Python source" };
  }
  if (ext === "jinja" || ext === "j2" || /\{%-?\s*\w+[\s\S]*?%\}|\{\{[\s\S]*?\}\}/.test(text)) {
    return { format: "jinja", offset: 0, reason: "Jinja template syntax" };
  }
  if (ext === "sh" || ext === "bash") return { format: "shell", offset: 0, reason: "shell script name" };
  return { format: "text", offset: 0, reason: "UTF-8 text" };
};

/**
 * Detectors in priority order. Binary magics come first; the pickle check precedes text because
 * protocol 0 pickles are text.
 */
const DETECTORS: readonly Detector[] = [
  detectTorchLegacy,
  detectNumpy,
  detectGguf,
  detectHdf5,
  magic("7z", [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], "7z signature"),
  magic("rar", ascii("Rar!\x1a\x07"), "RAR signature"),
  magic("gzip", [0x1f, 0x8b, 0x08], "gzip header"),
  magic("xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz header"),
  magic("zstd", [0x28, 0xb5, 0x2f, 0xfd], "zstd frame"),
  magic("lz4", [0x04, 0x22, 0x4d, 0x18], "lz4 frame"),
  detectBz2,
  detectExecutable,
  detectSafetensors,
  detectTar,
  detectPickle,
  detectZlib,
  detectLzma,
  detectProtobuf,
  detectText,
];

/** Formats that coexist with others in the same bytes (a zip found by its trailer, for example). */
const TRAILER_DETECTORS: readonly Detector[] = [detectZip];

/**
 * Recognises every format present in the input, primary first. The result is empty when nothing
 * matches (the engine reports such content as `unknown`).
 * @param input - head, tail, size and name of the bytes
 * @param options - `pickle: false` ranks the other candidates (what the bytes are when a
 *   speculative pickle reading fails)
 */
export function sniff(input: SniffInput, options: { pickle?: boolean } = {}): Detection[] {
  if (input.size === 0) return [{ format: "empty", offset: 0, reason: "no bytes" }];
  const detections: Detection[] = [];
  const zip = detectZip(input);
  if (zip !== undefined && zip.offset === 0) detections.push(zip);
  for (const detect of DETECTORS) {
    if (detections.length > 0) break;
    if (detect === detectPickle && options.pickle === false) continue;
    const found = detect(input);
    if (found !== undefined) detections.push(found);
  }
  for (const detect of TRAILER_DETECTORS) {
    const found = detect(input);
    if (found !== undefined && !detections.some((d) => d.format === found.format)) {
      // A zip found only by its trailer behind other content: both readings are analysed. Text
      // formats are not combined with a trailer (a text file cannot hold an EOCD record).
      if (detections.length === 0 || !TEXTUAL.has(detections[0]!.format)) detections.push(found);
    }
  }
  return detections;
}

/**
 * Bytes of opaque data (tensor storages, bytes no structure accounts for) the engine sniffs: every
 * magic this module checks lies within them (tar's header, HDF5 user blocks up to 2 KiB, a PE
 * header's usual offset), while a remote scan of a checkpoint with hundreds of storages reads no
 * more of each than the local-header read before it already brought in.
 */
export const OPAQUE_SNIFF_BYTES = 4096;

/** Textual formats (no binary container can start inside them). */
export const TEXTUAL: ReadonlySet<Format> = new Set([
  "json",
  "jinja",
  "python",
  "notebook",
  "shell",
  "text",
  "oms-signature",
]);

/**
 * Text extensions whose content is checked only as a hint (`format/extension-mismatch`). Model and
 * container extensions make strong claims instead (`src/formats/claims.ts`).
 */
const EXPECTED_BY_EXTENSION: Readonly<Record<string, readonly Format[]>> = {
  json: ["json", "notebook", "oms-signature"],
  txt: ["text", "json", "jinja", "python", "shell", "empty"],
  md: ["text", "jinja", "python", "json", "shell", "empty"],
  jinja: ["jinja", "text"],
  py: ["python", "text", "empty"],
  ipynb: ["notebook", "json"],
};

/**
 * The formats a text extension suggests, or undefined when it suggests nothing (model and container
 * extensions are claims: see `claimForName`).
 * @param name - file or member name
 */
export function expectedFormatsForName(name: string): readonly Format[] | undefined {
  return EXPECTED_BY_EXTENSION[extension(name)];
}
