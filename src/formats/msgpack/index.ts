/**
 * The msgpack module: Flax/JAX checkpoints (`flax_model.msgpack`) and other msgpack-serialised
 * weights (msgpack-numpy). Data only, but object arrays carry pickles and extension types decode
 * to whatever the loader registers.
 *
 * Detection: recognises msgpack model files: a map or array header under a `.msgpack` name, or, whatever the
 * name, a map whose first values include a Flax ndarray extension. msgpack has no magic, so the
 * name is what makes a bare map header enough. The header tests live here, and the reader
 * (`./reader.ts`) uses them: the registry loads every detector, and no reader, with the first scan.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";

/** The extension type of a Flax (msgpack-numpy) ndarray. */
export const EXT_NDARRAY = 1;

/** First bytes of a Flax ndarray extension payload: fixarray(3) then a shape array. */
function ndarrayPayloadAt(head: Uint8Array, at: number): boolean {
  const a = head[at];
  const b = head[at + 1];
  return a === 0x93 && b !== undefined && ((b >= 0x90 && b <= 0x9f) || b === 0xdc);
}

/**
 * Whether the head is a msgpack map holding a Flax ndarray extension within its first values:
 * walks up to 4,096 tokens of the head without recursion (containers are only headers here).
 * @param head - the first bytes
 */
export function looksLikeFlaxMsgpack(head: Uint8Array): boolean {
  const first = head[0];
  // A non-empty map: an empty fixmap (0x80) is also PROTO, the first byte of most pickles.
  if (first === undefined || first === 0x80 || !isMapHeader(first)) return false;
  let at = 0;
  const u = (n: number, o: number): number | undefined => {
    if (o + n > head.length) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + head[o + i]!;
    return v;
  };
  for (let tokens = 0; tokens < 4096 && at < head.length; tokens++) {
    const b = head[at]!;
    let skip: number | undefined;
    let extAt: number | undefined;
    if (b <= 0x7f || b >= 0xe0 || (b >= 0x80 && b <= 0x9f) || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 1;
    else if (b >= 0xa0 && b <= 0xbf) skip = 1 + (b & 0x1f);
    else if (b >= 0xc4 && b <= 0xc6) {
      const n = 1 << (b - 0xc4);
      const len = u(n, at + 1);
      skip = len === undefined ? undefined : 1 + n + len;
    } else if (b >= 0xc7 && b <= 0xc9) {
      const n = 1 << (b - 0xc7);
      if (head[at + 1 + n] === EXT_NDARRAY) extAt = at + 2 + n;
      else return false;
    } else if (b >= 0xd4 && b <= 0xd8) return false;
    else if (b === 0xca) skip = 5;
    else if (b === 0xcb) skip = 9;
    else if (b >= 0xcc && b <= 0xcf) skip = 1 + (1 << (b - 0xcc));
    else if (b >= 0xd0 && b <= 0xd3) skip = 1 + (1 << (b - 0xd0));
    else if (b >= 0xd9 && b <= 0xdb) {
      const n = 1 << (b - 0xd9);
      const len = u(n, at + 1);
      skip = len === undefined ? undefined : 1 + n + len;
    } else if (b === 0xdc || b === 0xde) skip = 3;
    else if (b === 0xdd || b === 0xdf) skip = 5;
    else return false;
    if (extAt !== undefined) return ndarrayPayloadAt(head, extAt);
    if (skip === undefined) return false;
    at += skip;
  }
  return false;
}

/** A map header byte (fixmap, map16, map32). */
export function isMapHeader(b: number): boolean {
  return (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
}

/** An array header byte (fixarray, array16, array32). */
export function isArrayHeader(b: number): boolean {
  return (b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd;
}

export const detectMsgpack: Detector = ({ head, name }) => {
  const first = head[0];
  if (first === undefined) return undefined;
  if (looksLikeFlaxMsgpack(head))
    return { format: "flax-msgpack", offset: 0, reason: "msgpack map with a Flax ndarray extension" };
  if (extensionOf(name) === "msgpack" && (isMapHeader(first) || isArrayHeader(first))) {
    return {
      format: "flax-msgpack",
      offset: 0,
      reason: `msgpack ${isMapHeader(first) ? "map" : "array"} header, .msgpack name`,
    };
  }
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "flax-msgpack": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "msgpackRules");

/** msgpack model files. */
export const msgpackModule = {
  name: "msgpack",
  formats: [
    {
      id: "flax-msgpack",
      description: "msgpack-serialised weights (Flax/JAX flax_model.msgpack, msgpack-numpy)",
      claimExtensions: ["msgpack"],
    },
  ],
  detectors: [{ rank: 145, detect: detectMsgpack }],
  analyzers: [lazyAnalyzer("msgpack", ["flax-msgpack"], async () => (await import("./analyzer.js")).msgpackAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
