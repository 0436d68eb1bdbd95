/**
 * The TensorFlow SavedModel module: `saved_model.pb` graphs (file-system and Python ops), the
 * TF1 `MetaGraphDef` files (`model.ckpt.meta`) that `tf.compat.v1.train.Saver` and
 * `export_meta_graph` write and `import_meta_graph` loads (the same graph, without the SavedModel
 * around it), frozen `GraphDef`s (`frozen_inference_graph.pb`, `tf.import_graph_def`), and the
 * text format of all three (`saved_model.pbtxt`, `as_text=True` `.meta`, `graph.pbtxt`).
 * Recognised by the protobuf module's detector and by name.
 *
 * Detection: name-based recognition of TensorFlow SavedModel files whose bytes are not valid protobuf,
 * of the SavedModel's `fingerprint.pb` (inert protobuf), of MetaGraphDefs and GraphDefs by their
 * structure, of `saved_model.pbtxt` by name and of text-format graphs by their fields.
 * @module
 */

import type { SniffInput } from "../../core/analyzer.js";
import { charCodes } from "../../core/arrays.js";
import type { Detection } from "../../core/formats.js";
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { varint } from "../../core/sniffing.js";

/**
 * A `saved_model.pb` or `keras_metadata.pb` is a SavedModel file by name even when its content
 * does not parse (truncated, corrupted): it must be analysed and reported invalid, never passed
 * over as unknown content.
 * @param name - file or member name
 */
export function detectSavedModelByName(name: string): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  return base === "saved_model.pb" || base === "keras_metadata.pb"
    ? { format: "tf-savedmodel", offset: 0, reason: `named ${base} (not valid protobuf)` }
    : undefined;
}

/**
 * Whether `bytes` are exactly a sequence of protobuf fields, each accepted by `accept` (field
 * number, wire type, payload of a length-delimited field).
 */
function strictFields(
  bytes: Uint8Array,
  accept: (field: number, wire: number, payload?: Uint8Array) => boolean,
): boolean {
  let at = 0;
  while (at < bytes.length) {
    const tag = varint(bytes, at);
    if (tag === undefined) return false;
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (wire === 0) {
      const v = varint(bytes, tag[1]);
      if (v === undefined || !accept(field, wire)) return false;
      at = v[1];
    } else if (wire === 2) {
      const len = varint(bytes, tag[1]);
      if (len === undefined || len[1] + len[0] > bytes.length) return false;
      if (!accept(field, wire, bytes.subarray(len[1], len[1] + len[0]))) return false;
      at = len[1] + len[0];
    } else return false;
  }
  return true;
}

/** `VersionDef`: producer (1), min_consumer (2), bad_consumers (3, repeated, maybe packed). */
const isVersionDef = (bytes: Uint8Array): boolean =>
  strictFields(bytes, (field, wire, payload) =>
    wire === 0 ? field >= 1 && field <= 3 : field === 3 && payload !== undefined && strictPacked(payload),
  );

/** A uuid as TensorFlow writes it: letters, digits and `-` only. */
const isUuid = (bytes: Uint8Array): boolean =>
  bytes.every((b) => b === 0x2d || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));

function strictPacked(bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length) {
    const v = varint(bytes, at);
    if (v === undefined) return false;
    at = v[1];
  }
  return true;
}

/**
 * TensorFlow's `fingerprint.pb` beside `saved_model.pb` (TF 2.11 and later): a `FingerprintDef`
 * of five uint64 hashes (`saved_model_checksum`, `graph_def_program_hash`, `signature_def_hash`,
 * `saved_object_graph_hash`, `checkpoint_hash`: fields 1–5, varints), a `VersionDef` (field 6) and,
 * since TF 2.15 or so, a `uuid` string (field 7, decimal digits as TF 2.21 writes it).
 * Its opening varint field 1 made it look like an ONNX `ModelProto` (`onnx/malformed`). Recognised
 * by name and only when the whole file parses strictly as that message: such bytes hold nothing an
 * ONNX loader could run (read as a `GraphProto`, a uuid of letters, digits and `-` cannot hold a
 * node, whose tag is 0x0a), so it is inert protobuf.
 * @param input - sniffer input
 */
export function detectFingerprint({ head, size, name }: SniffInput): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (base !== "fingerprint.pb" || size === 0 || size > head.length || size > 4096) return undefined;
  const bytes = head.subarray(0, size);
  const ok = strictFields(bytes, (field, wire, payload) =>
    wire === 0
      ? field >= 1 && field <= 5
      : payload !== undefined &&
        ((field === 6 && isVersionDef(payload)) || (field === 7 && payload.length <= 128 && isUuid(payload))),
  );
  return ok
    ? { format: "protobuf", offset: 0, reason: "TensorFlow SavedModel fingerprint (FingerprintDef)" }
    : undefined;
}

/** A cursor over protobuf fields; `cut` when the bytes end inside a field (a sniffed head). */
export interface FieldCursor {
  readonly field: number;
  readonly wire: number;
  /** Payload of a length-delimited field (a prefix of it when `cut`). */
  readonly payload: Uint8Array | undefined;
  readonly cut: boolean;
}

/** What the check of a MetaGraphDef's head found that only a MetaGraphDef holds. */
interface MetaEvidence {
  /** Complete graph nodes with a valid name and op. */
  nodes: number;
  /** Named ops of `meta_info_def.stripped_op_list`. */
  ops: number;
  /** A `meta_info_def.tensorflow_version` shaped like a version. */
  version: boolean;
  /** Fields visited (bounded by the head's size; counted for the budget). */
  fields: number;
}

/**
 * Calls `visit` on each field of `bytes`; false on broken wire data. `whole` false: the bytes are
 * a prefix (the sniffed head), so the last field may be cut (`cut`, its payload a prefix).
 */
export function eachField(bytes: Uint8Array, whole: boolean, visit: (f: FieldCursor) => boolean): boolean {
  let at = 0;
  while (at < bytes.length) {
    const tag = varint(bytes, at);
    if (tag === undefined) return !whole && bytes.length - at < 10;
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (field < 1 || field > 536_870_911) return false;
    if (wire === 0) {
      const v = varint(bytes, tag[1]);
      if (v === undefined) return !whole && bytes.length - tag[1] < 10;
      if (!visit({ field, wire, payload: undefined, cut: false })) return false;
      at = v[1];
    } else if (wire === 1 || wire === 5) {
      at = tag[1] + (wire === 1 ? 8 : 4);
      if (at > bytes.length) return !whole;
      if (!visit({ field, wire, payload: undefined, cut: false })) return false;
    } else if (wire === 2) {
      const len = varint(bytes, tag[1]);
      if (len === undefined) return !whole && bytes.length - tag[1] < 10;
      const end = len[1] + len[0];
      if (end > bytes.length) {
        if (whole) return false;
        return visit({ field, wire, payload: bytes.subarray(len[1]), cut: true });
      }
      if (!visit({ field, wire, payload: bytes.subarray(len[1], end), cut: false })) return false;
      at = end;
    } else if (wire === 3) {
      // a group: no TensorFlow message declares one, but protobuf's parser skips it as an unknown
      // field (to its matching end tag), so it hides nothing from the loader
      const end = skipGroup(bytes, tag[1], field, 0);
      if (end === undefined) return !whole;
      if (!visit({ field, wire, payload: undefined, cut: false })) return false;
      at = end;
    } else return false; // an end tag with no group open, or wire types 6 and 7
  }
  return true;
}

/** Most nested groups skipped (protobuf's parser stops at its recursion limit too). */
const MAX_GROUP_DEPTH = 32;

/**
 * The index just past the end tag of the group of `field` whose content starts at `at`, skipping
 * its fields (nested groups included) as protobuf's parser does; undefined when it is broken or cut.
 */
function skipGroup(bytes: Uint8Array, at: number, field: number, depth: number): number | undefined {
  if (depth >= MAX_GROUP_DEPTH) return undefined;
  let p = at;
  while (p < bytes.length) {
    const tag = varint(bytes, p);
    if (tag === undefined) return undefined;
    const f = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (wire === 4) return f === field ? tag[1] : undefined;
    if (wire === 0) {
      const v = varint(bytes, tag[1]);
      if (v === undefined) return undefined;
      p = v[1];
    } else if (wire === 1 || wire === 5) p = tag[1] + (wire === 1 ? 8 : 4);
    else if (wire === 2) {
      const len = varint(bytes, tag[1]);
      if (len === undefined) return undefined;
      p = len[1] + len[0];
    } else if (wire === 3) {
      const end = skipGroup(bytes, tag[1], f, depth + 1);
      if (end === undefined) return undefined;
      p = end;
    } else return undefined;
  }
  return undefined;
}

/** How one known field is checked: its wire type and, for length-delimited ones, its payload. */
type FieldRule = readonly [wire: number, check?: (payload: Uint8Array, whole: boolean, ev: MetaEvidence) => boolean];

/**
 * Checks a message against its known fields. Strict: every field is known, with its wire type.
 * Lenient (a `.meta` name): unknown fields and known ones of another wire type are skipped, as
 * protobuf's parser keeps them as unknown fields; the known ones are still checked.
 */
function checkMessage(
  bytes: Uint8Array,
  whole: boolean,
  rules: Readonly<Record<number, FieldRule>>,
  ev: MetaEvidence,
  lenient: boolean,
): boolean {
  return eachField(bytes, whole, (f) => {
    if (++ev.fields > 100_000) return false;
    const rule = rules[f.field];
    if (rule === undefined || rule[0] !== f.wire) return lenient;
    return f.payload === undefined || rule[1] === undefined || rule[1](f.payload, whole && !f.cut, ev);
  });
}

/** Node names as TensorFlow's importer accepts them (`[A-Za-z0-9.][A-Za-z0-9_.\-/>]*`). */
const isTfName = (b: Uint8Array): boolean =>
  b.length > 0 &&
  b.length <= 4096 &&
  b.every((c) => c === 0x2d || c === 0x2e || c === 0x2f || c === 0x3e || c === 0x5f || isAlnum(c));
const isAlnum = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** Node inputs (`name:1`, `^name`) and versions: printable ASCII or UTF-8, no control bytes. */
const isText = (b: Uint8Array): boolean => b.every((c) => c >= 0x20 && c !== 0x7f);
const text: FieldRule = [2, (p) => isText(p)];
/** A TensorFlow version (`1.15.5`, `2.21.0-rc1`): digits, a dot, digits, a dot. */
const isVersion = (b: Uint8Array): boolean => /^[0-9]+\.[0-9]+\./.test(charCodes(b.subarray(0, 32)));
const any: FieldRule = [2];

/**
 * A name field's rule: a complete name must be one TensorFlow accepts (a cut one is not judged);
 * `seen` learns that a valid one was there. Ops are only required to be named: a node's op may be
 * a library function, whose name TensorFlow does not restrict.
 */
const nameRule = (seen: () => void, valid: (b: Uint8Array) => boolean = isTfName): FieldRule => [
  2,
  (b, whole) => {
    if (!valid(b)) return !whole;
    seen();
    return true;
  },
];
const named = (b: Uint8Array): boolean => b.length > 0;

/** `NodeDef`: name, op, inputs, device, attrs, debug info, type; a complete one names its op. */
function checkNode(p: Uint8Array, whole: boolean, ev: MetaEvidence, lenient: boolean): boolean {
  let name = false;
  let op = false;
  const rules: Record<number, FieldRule> = {
    1: nameRule(() => {
      name = true;
    }),
    2: nameRule(() => {
      op = true;
    }, named),
    // inputs name nodes (the importer checks them); devices, attrs and the rest are not judged
    ...{ 3: text, 4: any, 5: any, 6: any, 7: any },
  };
  if (!checkMessage(p, whole, rules, ev, lenient)) return false;
  // a node cut by the head's end (a large constant) counts once its name and op were read: every
  // serializer writes them first
  if (name && op) ev.nodes++;
  return !whole || (name && op);
}

/**
 * `OpDef` of the stripped op list, checked for its wire types; a valid name counts as evidence
 * (TensorFlow does not need the list to import the graph, so nothing else in it is judged).
 */
function checkOpDef(p: Uint8Array, whole: boolean, ev: MetaEvidence, lenient: boolean): boolean {
  let hasName = false;
  const bools: FieldRule = [0];
  const rules: Record<number, FieldRule> = {
    1: [
      2,
      (b) => {
        hasName ||= isTfName(b);
        return true;
      },
    ],
    ...{ 2: any, 3: any, 4: any, 5: any, 6: any, 15: any, 20: any },
    ...{ 16: bools, 17: bools, 18: bools, 19: bools, 21: bools },
  };
  if (!checkMessage(p, whole, rules, ev, lenient)) return false;
  if (hasName) ev.ops++;
  return true;
}

/**
 * The head of a TF1 `MetaGraphDef` (public `tensorflow/core/protobuf/meta_graph.proto`): its
 * `meta_info_def` (1), `graph_def` (2), `saver_def` (3), `collection_def` (4), `signature_def`
 * (5), `asset_file_def` (6) and `object_graph_def` (7), checked down to the graph's nodes and the
 * stripped op list's names, and holding one of them or a TensorFlow version.
 *
 * The name is a hint, never proof: under any name the fields must be exactly a MetaGraphDef's;
 * named `*.meta` (what `tf.compat.v1.train.Saver` writes, `model.ckpt.meta`), unknown fields are
 * tolerated as TensorFlow's parser tolerates them, and a file larger than the head needs no more
 * than well-formed fields there. Only what TensorFlow itself checks when importing is judged
 * (node names, inputs, a named op): a string it ignores cannot hide a graph. `saved_model.pb`, `keras_metadata.pb` and
 * `fingerprint.pb` are left to their own detections: TensorFlow reads them with their own schemas.
 * `import_meta_graph` loads the graph, a session runs it and `Saver.restore` runs its restore op,
 * so it is analysed as a SavedModel's meta graph is.
 * @param input - sniffer input
 */
export function detectMetaGraph({ head, size, name }: SniffInput): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (size < 4 || base === "saved_model.pb" || base === "keras_metadata.pb" || base === "fingerprint.pb") {
    return undefined;
  }
  const lenient = base.endsWith(".meta");
  const whole = size <= head.length;
  const ev: MetaEvidence = { nodes: 0, ops: 0, version: false, fields: 0 };
  const node: FieldRule = [2, (p, w, e) => checkNode(p, w, e, lenient)];
  const opList: FieldRule = [
    2,
    (p, w, e) => checkMessage(p, w, { 1: [2, (q, x, f) => checkOpDef(q, x, f, lenient)] }, e, lenient),
  ];
  const version: FieldRule = [
    2,
    (p, w, e) => {
      e.version ||= w && isText(p) && isVersion(p);
      return true;
    },
  ];
  const metaInfo: FieldRule = [
    2,
    (p, w, e) =>
      // strings TensorFlow does not read back (version, tags) are not judged: only their wire types
      checkMessage(p, w, { 1: any, 2: opList, 3: any, 4: any, 5: version, 6: any, 7: [0], 8: any }, e, lenient),
  ];
  const graph: FieldRule = [
    2,
    (p, w, e) => checkMessage(p, w, { 1: node, 2: any, 3: [0], 4: any, 5: any }, e, lenient),
  ];
  const saver: FieldRule = [
    2,
    (p, w, e) => checkMessage(p, w, { 1: any, 2: any, 3: any, 4: [0], 5: [0], 6: [5], 7: [0] }, e, lenient),
  ];
  const bytes = head.subarray(0, Math.min(size, head.length));
  const top = { 1: metaInfo, 2: graph, 3: saver, 4: any, 5: any, 6: any, 7: any };
  if (!checkMessage(bytes, whole, top, ev, lenient)) {
    // Under another name (`import_meta_graph` takes any: `.metagraph`, `model.graph`), unknown
    // fields are tolerated too, as TensorFlow's parser tolerates them, when the head holds a
    // complete node with a valid name and an op: positive evidence no other protobuf gives.
    if (lenient) return undefined;
    const loose: MetaEvidence = { nodes: 0, ops: 0, version: false, fields: 0 };
    const looseNode: FieldRule = [2, (p, w, e) => checkNode(p, w, e, true)];
    const looseGraph: FieldRule = [
      2,
      (p, w, e) => checkMessage(p, w, { 1: looseNode, 2: any, 3: [0], 4: any, 5: any }, e, true),
    ];
    const looseTop = { ...top, 2: looseGraph };
    if (!checkMessage(bytes, whole, looseTop, loose, true) || loose.nodes === 0) return undefined;
    return { format: "tf-savedmodel", offset: 0, reason: "TensorFlow MetaGraphDef fields (with unknown fields)" };
  }
  // Named .meta and larger than the head, well-formed fields suffice: padding (a large `any_info`,
  // an unknown field) can push everything only a MetaGraphDef holds past the sniffed bytes.
  if (ev.nodes === 0 && ev.ops === 0 && !ev.version && (whole || !lenient)) return undefined;
  return {
    format: "tf-savedmodel",
    offset: 0,
    reason: lenient ? "TensorFlow MetaGraphDef (named .meta)" : "TensorFlow MetaGraphDef fields",
  };
}

/**
 * A frozen or exported binary `GraphDef` (`tf.io.write_graph(as_text=False)`, `freeze_graph`,
 * `frozen_inference_graph.pb`), which `tf.compat.v1.GraphDef().ParseFromString` then
 * `tf.import_graph_def` load and a session runs. Only under a `.pb` name, and only when every field
 * of the head is exactly a GraphDef's (`node` 1, `library` 2, `version` 3, `versions` 4,
 * `debug_info` 5), nodes checked as TensorFlow's importer checks them, with at least one complete
 * node. Other `.pb` protobufs (ONNX, SentencePiece, a SavedModel, a MetaGraphDef) fail the check.
 * @param input - sniffer input
 */
export function detectGraphDef({ head, size, name }: SniffInput): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (size < 4 || !base.endsWith(".pb") || TF_OWN_NAMES.has(base)) return undefined;
  const whole = size <= head.length;
  const ev: MetaEvidence = { nodes: 0, ops: 0, version: false, fields: 0 };
  const node: FieldRule = [2, (p, w, e) => checkNode(p, w, e, false)];
  const versions: FieldRule = [2, (p, w) => !w || isVersionDef(p)];
  const bytes = head.subarray(0, Math.min(size, head.length));
  if (!checkMessage(bytes, whole, { 1: node, 2: any, 3: [0], 4: versions, 5: any }, ev, false)) return undefined;
  return ev.nodes > 0 ? { format: "tf-savedmodel", offset: 0, reason: "TensorFlow GraphDef fields" } : undefined;
}

/** Files TensorFlow reads with their own schema, whatever their fields look like. */
const TF_OWN_NAMES = new Set(["saved_model.pb", "keras_metadata.pb", "fingerprint.pb"]);

/** Which message a text-format TensorFlow file holds. */
export type TextKind = "saved_model" | "meta_graph" | "graph_def";

/** Top-level field names of each text-format message (the three sets are disjoint). */
const TEXT_FIELDS: ReadonlyArray<readonly [TextKind, ReadonlySet<string>]> = [
  ["saved_model", new Set(["saved_model_schema_version", "meta_graphs"])],
  [
    "meta_graph",
    new Set([
      "meta_info_def",
      "graph_def",
      "saver_def",
      "collection_def",
      "signature_def",
      "asset_file_def",
      "object_graph_def",
    ]),
  ],
  ["graph_def", new Set(["node", "library", "version", "versions", "debug_info"])],
];

/**
 * Bytes of the whitespace character at `at`, 0 for none: Python's text_format tokenizer skips what
 * its regular expression's `\s` matches in the decoded text (ASCII whitespace, the separators
 * 0x1C–0x1F, NEL, NBSP and the Unicode spaces), a superset of C++'s; the union is skipped here.
 * @param b - UTF-8 text
 * @param at - offset
 */
export function textSpace(b: Uint8Array, at: number): number {
  const c = b[at] as number;
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
  const c1 = b[at + 1];
  if (c === 0xc2) return c1 === 0x85 || c1 === 0xa0 ? 2 : 0;
  const c2 = b[at + 2];
  if (c === 0xe1) return c1 === 0x9a && c2 === 0x80 ? 3 : 0;
  if (c === 0xe3) return c1 === 0x80 && c2 === 0x80 ? 3 : 0;
  if (c !== 0xe2 || c2 === undefined) return 0;
  if (c1 === 0x80) return c2 <= 0x8a || c2 === 0xa8 || c2 === 0xa9 || c2 === 0xaf ? 3 : 0;
  return c1 === 0x81 && c2 === 0x9f ? 3 : 0;
}

/** A token of a text-format head: a word, a string (`"` then its raw content) or punctuation. */
type Token = string;

const isWordByte = (c: number): boolean => isAlnum(c) || c === 0x5f || c === 0x2b || c === 0x2d || c === 0x2e;
/** Punctuation of text format: `{ } < > [ ] : , ;` and `/` of `Any` type URLs. */
const PUNCTUATION = new Set([0x7b, 0x7d, 0x3c, 0x3e, 0x5b, 0x5d, 0x3a, 0x2c, 0x3b, 0x2f]);

/**
 * The tokens of a text-format head (whitespace and `#` comments skipped), or undefined when a byte
 * outside strings and comments is none of text format's, or a string breaks a line. Lexical only:
 * the analyzer's reader checks every field against TensorFlow's schema.
 */
function textTokens(bytes: Uint8Array): Token[] | undefined {
  const tokens: Token[] = [];
  let at = 0;
  while (at < bytes.length) {
    const c = bytes[at] as number;
    const space = textSpace(bytes, at);
    if (space > 0) at += space;
    else if (c === 0x23) {
      while (at < bytes.length && bytes[at] !== 0x0a) at++;
    } else if (c === 0x22 || c === 0x27) {
      const start = ++at;
      while (at < bytes.length && bytes[at] !== c) {
        if (bytes[at] === 0x0a) return undefined;
        at += bytes[at] === 0x5c ? 2 : 1;
      }
      if (at >= bytes.length) return undefined;
      tokens.push(`"${charCodes(bytes.subarray(start, Math.min(at, start + 64)))}`);
      at++;
    } else if (isWordByte(c)) {
      const start = at;
      while (at < bytes.length && isWordByte(bytes[at] as number)) at++;
      tokens.push(charCodes(bytes.subarray(start, Math.min(at, start + 64))));
    } else if (PUNCTUATION.has(c)) {
      tokens.push(String.fromCharCode(c));
      at++;
    } else return undefined;
  }
  return tokens;
}

/** What a text head holds that only a TensorFlow graph holds, and whether its braces balance. */
interface TextEvidence {
  readonly kind: TextKind | undefined;
  /** `node`/`node_def` messages with a string `name` and a string `op`. */
  readonly nodes: number;
  /** A `meta_info_def.tensorflow_version` shaped like a version. */
  readonly version: boolean;
  /** Every message closed, none closed twice. */
  readonly balanced: boolean;
}

/** Reads the tokens of a text head: its first field's message, nodes, version, nesting. */
function textEvidence(tokens: readonly Token[]): TextEvidence | undefined {
  const first = tokens[0];
  const kind = first === undefined ? undefined : TEXT_FIELDS.find(([, names]) => names.has(first))?.[0];
  const stack: Array<{ field: string; name: boolean; op: boolean }> = [];
  let nodes = 0;
  let version = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === "{" || t === "<") {
      const field = tokens[i - 1] === ":" ? tokens[i - 2] : tokens[i - 1];
      stack.push({ field: field ?? "", name: false, op: false });
    } else if (t === "}" || t === ">") {
      const top = stack.pop();
      if (top === undefined) return { kind, nodes, version, balanced: false };
      if ((top.field === "node" || top.field === "node_def") && top.name && top.op) nodes++;
    } else if (tokens[i + 1] === ":" && tokens[i + 2]?.startsWith('"')) {
      const top = stack[stack.length - 1];
      const value = (tokens[i + 2] as string).slice(1);
      if (top !== undefined && t === "name" && value !== "") top.name = true;
      else if (top !== undefined && t === "op" && value !== "") top.op = true;
      else if (top?.field === "meta_info_def" && t === "tensorflow_version")
        version ||= /^[0-9]+\.[0-9]+\./.test(value);
    }
  }
  return { kind, nodes, version, balanced: stack.length === 0 };
}

/**
 * The message a text-format TensorFlow file holds, judged on its head: `saved_model.pbtxt` is a
 * SavedModel by name (TensorFlow's loader parses it as one, whatever it holds); any other file when
 * its first field is one of a SavedModel, a MetaGraphDef (a `.meta` written with `as_text=True`,
 * which `import_meta_graph` parses as text when the binary parse fails) or a GraphDef
 * (`write_graph`'s `graph.pbtxt`), its head is text format (a cut at its end excepted), and it holds
 * a named node with an op or a TensorFlow version. Anything else (the `checkpoint` state file,
 * label maps, MediaPipe graphs, YAML) opens with other fields or holds no such node. The analyzer
 * reads the whole file against TensorFlow's schema.
 * @param input - sniffer input
 */
export function textKind({ head, size, name }: SniffInput): TextKind | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (base === "saved_model.pbtxt") return "saved_model";
  if (size === 0 || TF_OWN_NAMES.has(base)) return undefined;
  const whole = size <= head.length;
  // a cut head ends at its last line break: text format never breaks a token across lines
  const tokens = textTokens(whole ? head : head.subarray(0, head.lastIndexOf(0x0a) + 1));
  const ev = tokens === undefined ? undefined : textEvidence(tokens);
  if (ev?.kind === undefined || (whole && !ev.balanced)) return undefined;
  return ev.nodes > 0 || ev.version ? ev.kind : undefined;
}

/**
 * The message a text opens with, by its first field name (after whitespace and comments).
 * @param bytes - the text
 */
export function textKindByField(bytes: Uint8Array): TextKind | undefined {
  let at = 0;
  // skip whitespace and comments, then read one word
  while (at < bytes.length) {
    const space = textSpace(bytes, at);
    if (space > 0) at += space;
    else if (bytes[at] === 0x23) {
      while (at < bytes.length && bytes[at] !== 0x0a) at++;
    } else break;
  }
  const start = at;
  while (at < bytes.length && at - start < 64 && isWordByte(bytes[at] as number)) at++;
  const first = charCodes(bytes.subarray(start, at));
  return TEXT_FIELDS.find(([, names]) => names.has(first))?.[0];
}

/** Names under which a text-format graph is expected (`graph.pbtxt`, `model.ckpt.meta` ...). */
const TEXT_GRAPH_NAMES = /\.(pbtxt|pbtext|textproto|txtpb|meta)$/;

/**
 * A text-format file under a graph's name, larger than the head, whose head holds nothing against
 * it being a graph: only comments (padding can push every node past the sniffed bytes), or the
 * start of a SavedModel, MetaGraphDef or GraphDef. The analyzer decides on the whole file.
 * @param input - sniffer input
 */
export function paddedTextGraph({ head, size, name }: SniffInput): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (size <= head.length || !TEXT_GRAPH_NAMES.test(base) || TF_OWN_NAMES.has(base)) return false;
  const tokens = textTokens(head.subarray(0, head.lastIndexOf(0x0a) + 1));
  if (tokens === undefined) return false;
  return tokens.length === 0 || textEvidence(tokens)?.kind !== undefined;
}

/**
 * `saved_model.pbtxt` by name, and text-format MetaGraphDefs and GraphDefs by their fields.
 * @param input - sniffer input
 */
export function detectSavedModelText(input: SniffInput): Detection | undefined {
  const kind = textKind(input);
  if (kind === undefined) {
    return paddedTextGraph(input)
      ? { format: "tf-savedmodel", offset: 0, reason: "text format under a graph's name, larger than the head" }
      : undefined;
  }
  const base = input.name.slice(input.name.lastIndexOf("/") + 1).toLowerCase();
  const reason = base === "saved_model.pbtxt" ? "named saved_model.pbtxt" : `TensorFlow ${kind} (text format)`;
  return { format: "tf-savedmodel", offset: 0, reason };
}

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "tf-savedmodel": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "savedmodelRules");

/** TensorFlow SavedModels. */
export const savedModelModule = {
  name: "savedmodel",
  formats: [
    {
      id: "tf-savedmodel",
      description: "TensorFlow SavedModel, TF1 MetaGraphDef (.meta) or GraphDef, binary or text format (.pbtxt)",
    },
  ],
  // before the protobuf detector (180), which takes a fingerprint for ONNX and a MetaGraphDef for
  // nothing (or plain protobuf); after Paddle's and Core ML's (175), whose fields differ
  detectors: [
    { rank: 178, detect: detectFingerprint },
    { rank: 179, detect: detectMetaGraph },
    // after the MetaGraphDef's: a MetaGraphDef's fields are checked as one first
    { rank: 179.5, detect: detectGraphDef },
    // text: before the text module's (190)
    { rank: 179.6, detect: detectSavedModelText },
  ],
  analyzers: [
    lazyAnalyzer("tf-savedmodel", ["tf-savedmodel"], async () => (await import("./analyzer.js")).savedModelAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
