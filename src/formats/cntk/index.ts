/**
 * The CNTK module: Microsoft Cognitive Toolkit models. A CNTK v2 model (`Function.save`, `.model`,
 * `.dnn`, `.cmf`) is one protobuf `CNTK.proto.Dictionary` (field 1 `version`, field 2 a map of
 * string keys to `DictionaryValue`s) describing a `CompositeFunction` graph; a v1 (legacy) model
 * opens with the UTF-16 marker `B\0C\0N\0\0\0`. `cntk.load_model` runs code for user-defined
 * functions named in the graph: a Python UDF's module and class go into an `exec("from {} import
 * {}")`, a native UDF's module is a shared library it loads. The analyzer finds them.
 *
 * Detection: the legacy marker at byte 0, or a protobuf whose top-level fields include
 * `Dictionary` map entries (field 2) keyed by a CompositeFunction key (`version`, `type`, `uid`,
 * `root`, `name`, `inputs`, `primitive_functions`, `state`) whose value parses as a
 * `DictionaryValue` of the type CNTK writes under that key: decisive when the entry is
 * `type: "CompositeFunction"` or a `primitive_functions`/`inputs` vector, else two such entries, or
 * one under a CNTK name (`.model`, `.dnn`, `.cmf`). Fields are taken in any order, as a protobuf
 * parser takes them; nothing here reads past the head.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf, latin1, varint } from "../../core/sniffing.js";

/** The legacy (v1) model marker: `L"BCN"` and its terminating NUL, UTF-16LE. */
export const CNTK_LEGACY_MARKER: readonly number[] = [0x42, 0x00, 0x43, 0x00, 0x4e, 0x00, 0x00, 0x00];

/** `DictionaryValue.Type` values (CNTK.proto). */
export const DV_SIZE_T = 3;
export const DV_STRING = 6;
export const DV_VECTOR = 9;
export const DV_DICTIONARY = 10;

/** Keys of a serialised CompositeFunction and the `DictionaryValue.Type` CNTK writes under each. */
const COMPOSITE_KEYS: ReadonlyMap<string, number> = new Map([
  ["version", DV_SIZE_T],
  ["type", DV_STRING],
  ["uid", DV_STRING],
  ["root", DV_STRING],
  ["name", DV_STRING],
  ["inputs", DV_VECTOR],
  ["primitive_functions", DV_VECTOR],
  ["state", DV_DICTIONARY],
]);

/** Names CNTK models are saved under. */
const CNTK_EXTENSIONS: ReadonlySet<string> = new Set(["model", "dnn", "cmf"]);

/** Fields walked at most per message in the head. */
const MAX_HEAD_FIELDS = 256;

/** One field of a message seen in the head. */
interface HeadField {
  readonly field: number;
  readonly wire: number;
  /** Varint value, or payload start of a length-delimited field. */
  readonly value: number;
  /** Payload length (length-delimited fields). */
  readonly length: number;
}

/**
 * The fields of `[start, end)` as far as the head holds them; stops quietly at the first byte that
 * is not wire data (what came before still counts).
 */
function headFields(head: Uint8Array, start: number, end: number): HeadField[] {
  const fields: HeadField[] = [];
  const seen = Math.min(end, head.length);
  let at = start;
  while (at < seen && fields.length < MAX_HEAD_FIELDS) {
    const tag = varint(head, at);
    if (tag === undefined || tag[1] > seen) break;
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (field < 1 || field > 536_870_911) break;
    if (wire === 0) {
      const v = varint(head, tag[1]);
      if (v === undefined || v[1] > seen) break;
      fields.push({ field, wire, value: v[0], length: 0 });
      at = v[1];
    } else if (wire === 1 || wire === 5) {
      at = tag[1] + (wire === 1 ? 8 : 4);
      if (at > end) break;
      fields.push({ field, wire, value: tag[1], length: at - tag[1] });
    } else if (wire === 2) {
      const len = varint(head, tag[1]);
      if (len === undefined || len[1] + len[0] > end) break;
      fields.push({ field, wire, value: len[1], length: len[0] });
      at = len[1] + len[0];
    } else break;
  }
  return fields;
}

/** A complete, short, printable string payload of the head, or undefined. */
function headString(head: Uint8Array, f: HeadField | undefined, max: number): string | undefined {
  if (f === undefined || f.wire !== 2 || f.length > max || f.value + f.length > head.length) return undefined;
  const bytes = head.subarray(f.value, f.value + f.length);
  return bytes.every((b) => b >= 0x20 && b < 0x7f) ? latin1(bytes) : undefined;
}

/** What one `Dictionary` map entry of the head shows. */
interface EntrySignal {
  /** A CompositeFunction key whose value has the type CNTK writes under it. */
  readonly known: boolean;
  /** `type: "CompositeFunction"`, or a `primitive_functions`/`inputs` vector. */
  readonly decisive: boolean;
}

/** Reads one map entry (`{1: key, 2: DictionaryValue}`) of the head. */
function entrySignal(head: Uint8Array, entry: HeadField): EntrySignal | undefined {
  const fields = headFields(head, entry.value, entry.value + entry.length);
  const key = headString(
    head,
    fields.find((f) => f.field === 1),
    64,
  );
  const value = fields.find((f) => f.field === 2 && f.wire === 2);
  if (key === undefined || value === undefined) return undefined;
  const expected = COMPOSITE_KEYS.get(key);
  if (expected === undefined) return undefined;
  const inner = headFields(head, value.value, value.value + value.length);
  const type = inner.find((f) => f.field === 2 && f.wire === 0)?.value;
  if (type !== expected) return undefined;
  if (key === "type") {
    const text = headString(
      head,
      inner.find((f) => f.field === 8),
      64,
    );
    return { known: true, decisive: text === "CompositeFunction" };
  }
  return { known: true, decisive: key === "primitive_functions" || key === "inputs" };
}

/** A CNTK v2 model dictionary (see the module comment), or a legacy model by its marker. */
export const detectCntk: Detector = ({ head, size, name }) => {
  if (size >= CNTK_LEGACY_MARKER.length && CNTK_LEGACY_MARKER.every((b, i) => head[i] === b)) {
    return { format: "cntk", offset: 0, reason: "legacy CNTK model marker (UTF-16 BCN)" };
  }
  const first = head[0];
  // A Dictionary opens with its version (0x08) or, version 0 being omitted, a map entry (0x12).
  if (first !== 0x08 && first !== 0x12) return undefined;
  let known = 0;
  for (const f of headFields(head, 0, size)) {
    if (f.field !== 2 || f.wire !== 2) continue;
    const signal = entrySignal(head, f);
    if (signal === undefined) continue;
    if (signal.decisive) return { format: "cntk", offset: 0, reason: "CNTK CompositeFunction dictionary" };
    known++;
  }
  if (known >= 2 || (known === 1 && CNTK_EXTENSIONS.has(extensionOf(name)))) {
    return { format: "cntk", offset: 0, reason: "CNTK Dictionary entries" };
  }
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    cntk: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "cntkRules");

/** CNTK models. */
export const cntkModule = {
  name: "cntk",
  formats: [{ id: "cntk", description: "CNTK model (v2 protobuf Dictionary, v1 legacy)" }],
  // Before pickle (150: the legacy marker opens with `B`, a pickle opcode) and before the protobuf
  // detectors (Core ML and Paddle at 175, generic protobuf at 180): its map entries are specific.
  detectors: [{ rank: 148, detect: detectCntk }],
  analyzers: [lazyAnalyzer("cntk", ["cntk"], async () => (await import("./analyzer.js")).cntkAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
