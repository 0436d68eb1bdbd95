/**
 * The torch7 module: Lua Torch `torch.save` files (`.t7`), walked without executing anything.
 *
 * Detection: recognises Lua Torch7 files. The serialization has no magic: a file is one object, so it starts
 * with a type tag. Content alone is accepted only when it opens like a torch object
 * (`TORCH`, id 1, `V <n>`, a dotted class name); any plausible opening needs a `.t7` name.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";
import { latin1 } from "./cursor.js";

/** Whether the head looks like an ASCII torch.File (`4\n1\n3\nV 1\n...`, `3\n1\n...`). */
export function looksAscii(head: Uint8Array): boolean {
  // Every member of every archive meets this detector: decide on the first two bytes when they
  // cannot open either form ("4\n" or "3\n") before decoding any text.
  if ((head[0] !== 0x34 && head[0] !== 0x33) || head[1] !== 0x0a) return false;
  const text = latin1(head.subarray(0, 256));
  return /^(?:4\n\d+\n\d+\n(?:V \d+\n\d+\n)?[A-Za-z_][\w.]*\n|3\n\d+\n\d+\n)/.test(text);
}

const CLASS = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

const i32 = (b: Uint8Array, at: number): number | undefined =>
  at + 4 <= b.length ? b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24) : undefined;

/** A string (int32 length + bytes) at `at` within the head, or undefined. */
function str(head: Uint8Array, at: number, max: number): string | undefined {
  const n = i32(head, at);
  if (n === undefined || n < 1 || n > max || at + 4 + n > head.length) return undefined;
  return latin1(head.subarray(at + 4, at + 4 + n));
}

/** The class name of a binary file opening with a torch object, or undefined. */
function torchObjectClass(head: Uint8Array): string | undefined {
  if (i32(head, 0) !== 4 || i32(head, 4) !== 1) return undefined;
  const first = str(head, 8, 200);
  if (first === undefined) return undefined;
  if (/^V \d+$/.test(first)) {
    const name = str(head, 12 + first.length, 200);
    return name !== undefined && CLASS.test(name) ? name : undefined;
  }
  return CLASS.test(first) && /^(torch|nn|cudnn|nngraph)\./.test(first) ? first : undefined;
}

/** A plausible first object of any type (for `.t7` names). */
function plausible(head: Uint8Array, size: number): boolean {
  const tag = i32(head, 0);
  switch (tag) {
    case 0:
      return size === 4;
    case 1:
      return size >= 12;
    case 5: {
      const v = i32(head, 4);
      return v === 0 || v === 1;
    }
    case 2:
    case 6: {
      const n = i32(head, 4);
      return n !== undefined && n >= 0 && n <= size - 8;
    }
    case 3:
    case 7:
    case 8: {
      const id = i32(head, 4);
      const n = i32(head, 8);
      return id !== undefined && id >= 1 && n !== undefined && n >= 0 && n <= size;
    }
    case 4:
      return i32(head, 4) !== undefined && str(head, 8, 1024) !== undefined;
    default:
      return false;
  }
}

export const detectTorch7: Detector = ({ head, size, name }) => {
  const cls = torchObjectClass(head);
  if (cls !== undefined) return { format: "torch7", offset: 0, reason: `Torch7 object of class ${cls}` };
  const t7 = extensionOf(name) === "t7";
  if (looksAscii(head)) {
    const text = latin1(head.subarray(0, 64));
    if (t7 || text.startsWith("4\n")) return { format: "torch7", offset: 0, reason: "Torch7 ASCII serialization" };
  }
  if (t7 && plausible(head, size)) return { format: "torch7", offset: 0, reason: "Torch7 object stream (.t7)" };
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    torch7: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "torch7Rules");

/** Lua Torch7 serialized objects. */
export const torch7Module = {
  name: "torch7",
  formats: [{ id: "torch7", description: "Lua Torch7 serialized object (torch.save)", claimExtensions: ["t7"] }],
  // Below the text formats: ASCII torch files are text, binary ones have no magic.
  detectors: [{ rank: 185, detect: detectTorch7 }],
  analyzers: [lazyAnalyzer("torch7", ["torch7"], async () => (await import("./analyzer.js")).torch7Analyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
