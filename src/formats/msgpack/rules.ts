/**
 * Rules of the msgpack area (Flax/JAX `flax_model.msgpack` and other msgpack-serialised weights).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SPEC = "https://github.com/msgpack/msgpack/blob/master/spec.md";
const FLAX = "https://flax.readthedocs.io/en/latest/api_reference/flax.serialization.html";

/** msgpack rules. */
export const msgpackRules = [
  {
    id: "msgpack/malformed",
    title: "msgpack stream is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The stream breaks the msgpack grammar or what `msgpack.unpackb` accepts by default: the reserved byte 0xc1, a string that is not UTF-8, a map key that is neither a string nor bytes (`strict_map_key`), a value cut short, or nesting past the reader's budget. The loader raises, so the file is not the model it claims to be.",
    references: [SPEC],
  },
  {
    id: "msgpack/length-out-of-bounds",
    title: "msgpack length or count larger than the file",
    severity: "medium",
    invalidates: true,
    description:
      "A string, binary, extension, array or map declares more bytes or elements than remain in the file. Readers that pre-allocate from these 32-bit fields can be driven to allocate gigabytes from a few bytes.",
    references: [SPEC],
  },
  {
    id: "msgpack/trailing-data",
    title: "Bytes after the msgpack object",
    severity: "medium",
    invalidates: true,
    description:
      "The file continues after its top-level object. `msgpack.unpackb` (which Flax uses) raises `ExtraData`, while streaming unpackers read a second object: the bytes are analysed as a member.",
    references: [SPEC],
  },
  {
    id: "msgpack/object-array",
    title: "Array of Python objects in a msgpack file",
    severity: "high",
    description:
      "An array is declared with the `object` dtype (a Flax ndarray extension whose dtype is `object`/`O`, or a msgpack-numpy map with kind `O`). msgpack-numpy decodes such arrays with `pickle.loads` on their data, which runs code; the data is analysed as a pickle member. Weights never need object arrays.",
    references: [FLAX, "https://github.com/lebedov/msgpack-numpy"],
  },
  {
    id: "msgpack/unknown-extension",
    title: "Unknown msgpack extension type",
    severity: "medium",
    description:
      "An extension type other than Flax's ndarray (1), complex (2) and numpy scalar (3) or msgpack's timestamp (-1). Its meaning depends on an `ext_hook` the loader registers, which can construct arbitrary objects; nothing here can say what it decodes to.",
    references: [SPEC, FLAX],
  },
  {
    id: "msgpack/unknown-dtype",
    title: "Array dtype outside the numeric dtypes",
    severity: "medium",
    description:
      "A Flax ndarray or msgpack-numpy array names a dtype that is not a plain numeric type (booleans, integers, floats including bfloat16 and the float8/int4 families, complex). `numpy.dtype` parses such names into strings, records or datetimes; weights do not need them.",
    references: [FLAX],
  },
  {
    id: "msgpack/tensor-size-mismatch",
    title: "Array data does not match its shape and dtype",
    severity: "medium",
    invalidates: true,
    description:
      "An ndarray extension is not the triple (shape, dtype name, data), its shape holds negative or non-integer dimensions, or its data length is not the shape's element count times the dtype's size. `np.frombuffer(...).reshape(shape)` raises on it.",
    references: [FLAX],
  },
  {
    id: "msgpack/duplicate-key",
    title: "Duplicate key in a msgpack map",
    severity: "medium",
    description:
      "The same key appears twice in one map. Python keeps the last value, other readers the first or raise: two loaders restore different parameters from the same file.",
    references: [SPEC],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof msgpackRules)[number]["id"], true> {}
}
