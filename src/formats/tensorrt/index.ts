/**
 * The tensorrt module: serialized TensorRT engines (`.engine`, `.plan`, `.trt`).
 *
 * No extension claims the format: `.engine` and `.plan` name many unrelated files, and TensorRT
 * itself refuses bytes without its tag, so a file that does not open like an engine cannot be
 * loaded as one. The content detector recognises engines whatever their name.
 *
 * Detection: recognises serialized TensorRT engines: the tag `ptrt` or `ftrt` at byte 0, or after a block of
 * JSON metadata prefixed by its int32 length (Ultralytics' `.engine` exports).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** Whether four bytes at `at` are an engine tag. */
export function engineTag(b: Uint8Array, at: number): string | undefined {
  if (at + 4 > b.length || b[at + 1] !== 0x74 || b[at + 2] !== 0x72 || b[at + 3] !== 0x74) return undefined;
  return b[at] === 0x70 ? "ptrt" : b[at] === 0x66 ? "ftrt" : undefined;
}

/** Where the engine starts: 0, or after the metadata block; undefined when this is no engine. */
export function engineStart(head: Uint8Array): { start: number; metadata?: number } | undefined {
  if (engineTag(head, 0) !== undefined) return { start: 0 };
  if (head.length < 9 || head[4] !== 0x7b || head[3] !== 0) return undefined;
  const length = head[0]! | (head[1]! << 8) | (head[2]! << 16);
  if (length < 2 || engineTag(head, 4 + length) === undefined || head[3 + length] !== 0x7d) return undefined;
  return { start: 4 + length, metadata: length };
}

export const detectTensorrt: Detector = ({ head }) => {
  const found = engineStart(head);
  if (found === undefined) return undefined;
  const tag = engineTag(head, found.start);
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
