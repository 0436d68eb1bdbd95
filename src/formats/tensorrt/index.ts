/**
 * The tensorrt module: serialized TensorRT engines (`.engine`, `.plan`, `.trt`).
 *
 * No extension claims the format: `.engine` and `.plan` name many unrelated files, and TensorRT
 * itself refuses bytes without its tag, so a file that does not open like an engine cannot be
 * loaded as one. The content detector recognises engines whatever their name.
 *
 * Detection: recognises serialized TensorRT engines: the tag `ptrt` or `ftrt` at byte 0, or after a block of
 * JSON metadata prefixed by its 32-bit little-endian length (Ultralytics' `.engine` exports; whitespace
 * around the object, any length: the tag is looked for in the head or the tail, and when neither
 * holds it the analyzer reads it from the file).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** Whether four bytes at `at` are an engine tag. */
export function engineTag(b: Uint8Array, at: number): string | undefined {
  if (at + 4 > b.length || b[at + 1] !== 0x74 || b[at + 2] !== 0x72 || b[at + 3] !== 0x74) return undefined;
  return b[at] === 0x70 ? "ptrt" : b[at] === 0x66 ? "ftrt" : undefined;
}

/** JSON whitespace (what Python's `json.loads` skips around a value). */
const isJsonSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Where an engine starts, as far as the sniffed bytes show. */
export interface EngineStart {
  /** Offset of the engine tag. */
  readonly start: number;
  /** Length of the JSON metadata block before it (Ultralytics), if any. */
  readonly metadata?: number;
  /** The tag (`ptrt`, `ftrt`) when it was seen; undefined when it lies beyond the head and tail. */
  readonly tag?: string;
}

/**
 * Where the engine starts: 0, or after a metadata block; undefined when this is no engine.
 *
 * Ultralytics writes `len.to_bytes(4, "little")`, the JSON metadata, then the engine, and reads it
 * back with `int.from_bytes(f.read(4), "little")`, `json.loads(f.read(len).decode())` (JSON
 * whitespace allowed around the object, any length) and `deserialize_cuda_engine(f.read())`. So
 * the whole 32-bit length is read, the object may open after whitespace, and the tag at `4 + len`
 * is looked for in the head or the tail. When both miss it (metadata longer than the head, engine
 * longer than the tail), the opening alone decides and the analyzer reads the tag from the source.
 * @param head - the first bytes
 * @param size - the file's size (default: the head is the whole file)
 * @param tail - the last bytes, if read
 */
export function engineStart(head: Uint8Array, size = head.length, tail?: Uint8Array): EngineStart | undefined {
  const first = engineTag(head, 0);
  if (first !== undefined) return { start: 0, tag: first };
  if (head.length < 5) return undefined;
  const length = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const start = 4 + length;
  if (length < 2 || start + 4 > size) return undefined;
  let i = 4;
  while (i < start && i < head.length && isJsonSpace(head[i])) i++;
  if (head[i] !== 0x7b) return undefined;
  // JSON text has no control byte outside whitespace (strings escape them).
  for (let j = i; j < start && j < head.length; j++) if (head[j]! < 0x20 && !isJsonSpace(head[j])) return undefined;
  const tailStart = tail === undefined ? size : size - tail.length;
  const at = (o: number): number | undefined =>
    o < head.length ? head[o] : o >= tailStart && tail !== undefined ? tail[o - tailStart] : undefined;
  const tagBytes = [at(start), at(start + 1), at(start + 2), at(start + 3)];
  let close = start - 1;
  while (close > i && isJsonSpace(at(close))) close--;
  const last = at(close);
  if (tagBytes.includes(undefined) || last === undefined) return { start, metadata: length };
  const tag = engineTag(Uint8Array.from(tagBytes as number[]), 0);
  if (last !== 0x7d || tag === undefined) return undefined;
  return { start, metadata: length, tag };
}

export const detectTensorrt: Detector = ({ head, tail, size }) => {
  const found = engineStart(head, size, tail);
  if (found === undefined) return undefined;
  const tag = found.tag;
  if (tag === undefined) {
    return {
      format: "tensorrt",
      offset: 0,
      reason: `${found.metadata} bytes of JSON metadata (Ultralytics layout), engine tag beyond the sniffed bytes`,
    };
  }
  return {
    format: "tensorrt",
    offset: 0,
    reason:
      found.metadata === undefined
        ? `TensorRT engine (${tag})`
        : `TensorRT engine (${tag}) after ${found.metadata} bytes of JSON metadata`,
  };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tensorrt: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tensorrtRules");

/** TensorRT engines. */
export const tensorrtModule = {
  name: "tensorrt",
  formats: [{ id: "tensorrt", description: "serialized TensorRT engine (proprietary; strings scanned)" }],
  detectors: [{ rank: 125, detect: detectTensorrt }],
  analyzers: [lazyAnalyzer("tensorrt", ["tensorrt"], async () => (await import("./analyzer.js")).tensorrtAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
