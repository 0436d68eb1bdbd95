/**
 * The Paddle module: PaddlePaddle static programs (`ProgramDesc` protobuf, `.pdmodel` and
 * `__model__`). Parameters saved with `paddle.save` (`.pdparams`) are pickles and go to the pickle
 * engine; combined parameter files (`.pdiparams`) are raw tensors.
 *
 * Detection: recognises a Paddle `ProgramDesc` by its first bytes. Protobuf serialises fields in number
 * order, so a program opens with its first block (field 1, length-delimited), and Paddle's first
 * block opens with `idx = 0` (`08 00`) and `parent_idx` (`10 ...`), which is -1 for the global
 * block (a ten-byte varint `ff ff ff ff ff ff ff ff ff 01`). ONNX models and SavedModels open
 * with a varint field, GraphDefs with a node whose first field is a string: none of them looks
 * like this.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";

const MINUS_ONE = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];

/** Reads a varint of at most 5 bytes (a block length); undefined when longer or cut. */
function smallVarint(bytes: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    const b = bytes[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/** Whether a name is one Paddle gives programs (`*.pdmodel`, `__model__`). */
export function isPaddleProgramName(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1);
  return extensionOf(name) === "pdmodel" || base === "__model__";
}

/** A ProgramDesc: named like one with a first block `idx 0`, or any name with the global block's `parent_idx -1`. */
export const detectPaddleProgram: Detector = ({ head, size, name }) => {
  if (head[0] !== 0x0a) return undefined;
  const length = smallVarint(head, 1);
  if (length === undefined) return undefined;
  const [blockLength, at] = length;
  // A cut program (shorter than its first block) is still one: its analysis reports it malformed.
  if (blockLength < 4 || size < at + 3) return undefined;
  if (head[at] !== 0x08 || head[at + 1] !== 0x00 || head[at + 2] !== 0x10) return undefined;
  const global = MINUS_ONE.every((b, i) => head[at + 3 + i] === b);
  if (global) return { format: "paddle-program", offset: 0, reason: "ProgramDesc global block (idx 0, parent -1)" };
  return isPaddleProgramName(name)
    ? { format: "paddle-program", offset: 0, reason: "ProgramDesc first block (idx 0)" }
    : undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "paddle-program": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "paddleRules");

/** Paddle programs. */
export const paddleModule = {
  name: "paddle",
  formats: [
    { id: "paddle-program", description: "PaddlePaddle program (ProgramDesc, .pdmodel)", claimExtensions: ["pdmodel"] },
  ],
  // Before the generic protobuf detector (180), after every magic-number format: it only matches
  // the ProgramDesc opening, which no ONNX, SavedModel or GraphDef has.
  detectors: [{ rank: 175, detect: detectPaddleProgram }],
  analyzers: [lazyAnalyzer("paddle", ["paddle-program"], async () => (await import("./analyzer.js")).paddleAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
