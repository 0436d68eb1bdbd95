/**
 * The msgpack module: Flax/JAX checkpoints (`flax_model.msgpack`) and other msgpack-serialised
 * weights (msgpack-numpy). Data only, but object arrays carry pickles and extension types decode
 * to whatever the loader registers.
 *
 * Detection: recognises msgpack model files: a map or array header under a `.msgpack` name, or, whatever the
 * name, a map whose first values include a Flax ndarray extension, or a map holding msgpack-numpy's
 * key `nd` with a boolean value at any depth of the head (msgpack-numpy's `decode` unpickles such
 * maps whatever the file is called), or a container (its map keys, if any, strings) whose tokens
 * stay valid up to a payload that runs past the head (an array can hide behind it). A stream of
 * several top-level objects (msgpack.Unpacker reads one, `{}` first included) is walked whole; 0x80
 * followed by a protocol number stays a pickle's PROTO unless msgpack-numpy's key is found. msgpack has no magic, so the
 * name (`.msgpack`, or Flax's `.flax`, `.jax`, `.orbax`) is what makes a bare map header enough. The
 * header tests and the head walk live here, and the reader (`./reader.ts`) uses them: the registry loads every detector, and no reader,
 * with the first scan.
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

/*
 * A synchronous, bounded walk of the msgpack tokens in the sniffer's head, for detection.
 *
 * msgpack has no magic, and msgpack-numpy's loader (`msgpack.unpackb(..., object_hook=m.decode)`)
 * reads any name: `decode` runs on every map, at any depth, and unpickles the data of a map whose
 * keys `nd` (True), `kind` (`O`) and `data` it finds. So the detector cannot rely on a name or on
 * the first bytes: it walks the tokens from offset 0, keeping a stack of open containers (so it
 * knows which strings are map keys), and stops at the first of: a map key `nd` (bytes or str)
 * whose value is a boolean (what `decode` tests first), a value that breaks the grammar, a payload
 * that runs past the head (the walk cannot go on without reading more), or the end of the head.
 * Nothing is decoded; every step advances by at least one byte, so the walk is bounded by the head.
 */

/** Nesting kept track of (the reader's own depth budget is the same). */
const MAX_DEPTH = 64;

/** What the walk of the head found. */
export interface HeadWalk {
  /** A map holds the key `nd` with a boolean value: a msgpack-numpy array (or scalar). */
  readonly numpy: boolean;
  /** The walk reached a payload (or a header) that continues past the head, within the file. */
  readonly crossed: boolean;
  /** The top-level object ended exactly at the end of the file (a single object, no stream). */
  readonly complete: boolean;
  /** Top-level objects completed in the head (msgpack.Unpacker reads several as a stream). */
  readonly objects: number;
  /** Map keys read. */
  readonly keys: number;
  /** Every map key read was a string or binary (what `strict_map_key`, the default, demands). */
  readonly stringKeys: boolean;
}

interface Frame {
  /** Items left (a map of n entries holds 2n: key, value, ...). */
  left: number;
  readonly map: boolean;
}

/** A big-endian unsigned integer of `n` bytes at `at`, or undefined past the end of `b`. */
function be(b: Uint8Array, at: number, n: number): number | undefined {
  if (at + n > b.length) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[at + i]!;
  return v;
}

/** One token: its header size, the payload after it, the container it opens. */
interface Token {
  readonly header: number;
  readonly payload: number;
  readonly open?: { readonly count: number; readonly map: boolean };
  readonly kind: "key" | "bool" | "other";
}

/** Decodes the token at `at`; undefined for the reserved byte 0xc1, "short" when its header is cut. */
function token(b: Uint8Array, at: number): Token | "short" | undefined {
  const t = b[at]!;
  const sized = (n: number, header: number, kind: Token["kind"], extra = 0): Token | "short" => {
    const len = be(b, at + 1, n);
    return len === undefined ? "short" : { header: header + n + extra, payload: len, kind };
  };
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0) return { header: 1, payload: 0, kind: "other" };
  if (t <= 0x8f) return { header: 1, payload: 0, open: { count: t & 0x0f, map: true }, kind: "other" };
  if (t <= 0x9f) return { header: 1, payload: 0, open: { count: t & 0x0f, map: false }, kind: "other" };
  if (t <= 0xbf) return { header: 1, payload: t & 0x1f, kind: "key" };
  switch (t) {
    case 0xc1:
      return undefined;
    case 0xc2:
    case 0xc3:
      return { header: 1, payload: 0, kind: "bool" };
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return sized(1 << (t - 0xc4), 1, "key");
    case 0xc7:
    case 0xc8:
    case 0xc9:
      return sized(1 << (t - 0xc7), 1, "other", 1);
    case 0xca:
      return { header: 5, payload: 0, kind: "other" };
    case 0xcb:
      return { header: 9, payload: 0, kind: "other" };
    case 0xd9:
    case 0xda:
    case 0xdb:
      return sized(1 << (t - 0xd9), 1, "key");
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      const n = t === 0xdc || t === 0xde ? 2 : 4;
      const count = be(b, at + 1, n);
      if (count === undefined) return "short";
      return { header: 1 + n, payload: 0, open: { count, map: t >= 0xde }, kind: "other" };
    }
    default:
      break;
  }
  if (t >= 0xcc && t <= 0xd3) return { header: 1 + (1 << ((t - 0xcc) & 3)), payload: 0, kind: "other" };
  // fixext 1..16 (0xd4..0xd8): type byte and 2^k data bytes
  return { header: 2, payload: 1 << (t - 0xd4), kind: "other" };
}

/**
 * Walks the msgpack tokens of `head` (the first bytes of a file of `size` bytes).
 * @param head - the first bytes
 * @param size - the file's size
 * @returns what it found, or undefined when the bytes break the grammar (or a declared length
 *   exceeds the file) before anything was found
 */
export function walkMsgpackHead(head: Uint8Array, size: number): HeadWalk | undefined {
  const stack: Frame[] = [];
  let at = 0;
  let keys = 0;
  let stringKeys = true;
  let ndPending = false;
  let objects = 0;
  const result = (r: { numpy?: boolean; crossed?: boolean; complete?: boolean }): HeadWalk => ({
    numpy: r.numpy ?? false,
    crossed: r.crossed ?? false,
    complete: r.complete ?? false,
    keys,
    stringKeys,
    objects,
  });
  while (at < head.length) {
    const top = stack[stack.length - 1];
    const isKey = top?.map === true && top.left % 2 === 0;
    const t = token(head, at);
    if (t === undefined) return undefined;
    if (t === "short") return head.length < size ? result({ crossed: true }) : undefined;
    if (ndPending && !isKey && t.kind === "bool") return result({ numpy: true });
    ndPending = false;
    const end = at + t.header + t.payload;
    if (end > size) return undefined;
    if (isKey) {
      keys++;
      if (t.kind !== "key") stringKeys = false;
      else if (t.payload === 2 && end <= head.length) {
        ndPending = head[end - 2] === 0x6e && head[end - 1] === 0x64; // "nd"
      }
    }
    if (end > head.length) return result({ crossed: true });
    at = end;
    if (t.open !== undefined && t.open.count > 0) {
      const items = t.open.map ? 2 * t.open.count : t.open.count;
      if (items > size - at) return undefined; // every item takes at least one byte
      if (stack.length >= MAX_DEPTH) return result({});
      stack.push({ left: items, map: t.open.map });
      continue;
    }
    // A value (or an empty container) is complete: close the containers it completes. A complete
    // top-level object may be followed by others (msgpack.Unpacker reads a stream): walked too.
    for (;;) {
      const frame = stack[stack.length - 1];
      if (frame === undefined) {
        objects++;
        if (at === size) return result({ complete: objects === 1 });
        break;
      }
      frame.left--;
      if (frame.left > 0) break;
      stack.pop();
    }
  }
  return result({ crossed: head.length < size });
}

/**
 * Names Flax checkpoints go by: `flax_model.msgpack`, and the `.flax`, `.jax` and `.orbax` names
 * flax.serialization.msgpack_restore is handed as well. Under them a bare map or array header is
 * enough (msgpack has no magic); the content still decides.
 */
export const MSGPACK_NAME_EXTENSIONS: ReadonlySet<string> = new Set(["msgpack", "flax", "jax", "orbax"]);

/** Extensions that hint at a Flax checkpoint without claiming one (`.msgpack` claims it). */
const HINT_EXTENSIONS = ["flax", "jax", "orbax"] as const;

export const detectMsgpack: Detector = ({ head, size, name }) => {
  const first = head[0];
  if (first === undefined) return undefined;
  if (looksLikeFlaxMsgpack(head))
    return { format: "flax-msgpack", offset: 0, reason: "msgpack map with a Flax ndarray extension" };
  const container = isMapHeader(first) || isArrayHeader(first);
  const ext = extensionOf(name);
  if (MSGPACK_NAME_EXTENSIONS.has(ext) && container) {
    return {
      format: "flax-msgpack",
      offset: 0,
      reason: `msgpack ${isMapHeader(first) ? "map" : "array"} header, .${ext} name`,
    };
  }
  if (!container) return undefined;
  // The walk goes on past a complete object: msgpack.Unpacker reads a stream of several, and an
  // empty map or array first (`{}` is 0x80, also pickle's PROTO) opens such a stream as well.
  const walk = walkMsgpackHead(head, size);
  if (walk === undefined) return undefined;
  if (walk.numpy) return { format: "flax-msgpack", offset: 0, reason: "msgpack map with msgpack-numpy's nd key" };
  // 0x80 then a protocol number is a pickle's PROTO: without msgpack-numpy's key it stays a pickle.
  if (first === 0x80 && (head[1] ?? 0xff) <= 5) return undefined;
  // Past a long payload the head shows no more: tokens valid up to it make the stream msgpack
  // enough to be read whole (the reader then checks every map, msgpack-numpy's too), whatever
  // keys came before (none in an array whose first item is the payload); keys read must be strings
  // (what `strict_map_key`, msgpack's default, demands).
  if (walk.crossed && walk.stringKeys) {
    return { format: "flax-msgpack", offset: 0, reason: "msgpack container whose tokens run past the head" };
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
      hintExtensions: HINT_EXTENSIONS,
    },
  ],
  detectors: [{ rank: 145, detect: detectMsgpack }],
  analyzers: [lazyAnalyzer("msgpack", ["flax-msgpack"], async () => (await import("./analyzer.js")).msgpackAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
