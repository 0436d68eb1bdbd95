/**
 * The Python model is a name → model table: which names are resolvers (seen through), which take
 * nested payloads, and that names that are not modelled are ordinary calls, including names that
 * collide with Object.prototype members.
 */
import { describe, expect, it } from "vitest";
import {
  CODE_EVALUATORS,
  DECODERS,
  DESERIALIZERS,
  isResolver,
  modelledNames,
  modelOf,
  resolverNames,
} from "../../../src/formats/pickle/pymodel.js";
import { analyze, bytes, op, rules } from "./helpers.js";

const P4 = op.proto(4);

describe("the Python model table", () => {
  it("has the resolvers the machine sees through", () => {
    expect(resolverNames().sort()).toEqual(
      [
        "builtins.getattr",
        "builtins.__import__",
        "importlib.import_module",
        "importlib.__import__",
        "pkgutil.resolve_name",
        "pydoc.locate",
        "operator.attrgetter",
        "_operator.attrgetter",
        "operator.itemgetter",
        "_operator.itemgetter",
        "operator.methodcaller",
        "_operator.methodcaller",
        "operator.getitem",
        "_operator.getitem",
        "builtins.vars",
        "builtins.object.__getattribute__",
        "builtins.type.__getattribute__",
        "builtins.dict.get",
        "builtins.dict.__getitem__",
        "functools.partial",
        "_functools.partial",
        "dill._dill._load_type",
        "dill._dill._create_array",
      ].sort(),
    );
    for (const n of resolverNames()) expect(isResolver(n)).toBe(true);
    expect(isResolver("builtins.globals")).toBe(false);
  });

  it("models every deserializer, evaluator and decoder", () => {
    const names = new Set(modelledNames());
    for (const n of [...Object.keys(DESERIALIZERS), ...CODE_EVALUATORS, ...Object.keys(DECODERS)]) {
      expect(names.has(n), n).toBe(true);
    }
    expect(modelOf("sklearn.tree._tree.newObj")).toBeDefined();
    expect(modelOf("os.system")).toBeUndefined();
  });

  it("does not find Object.prototype members as models or storages", async () => {
    for (const n of ["constructor", "toString", "__proto__", "hasOwnProperty"]) expect(modelOf(n)).toBeUndefined();
    // importlib.import_module('constructor')(b'\x80\x04N.'): an ordinary call, no nested payload
    const a = await analyze(
      bytes(
        P4,
        op.sglobal("importlib", "import_module"),
        op.sbu("constructor"),
        op.call1,
        op.bb(bytes([0x80, 4, 0x4e, 0x2e])),
        op.call1,
        op.stop,
      ),
    );
    expect(rules(a)).not.toContain("pickle/nested-payload");
    expect(a.findings.some((f) => f.evidence?.callee === "constructor")).toBe(true);
  });

  it("decodes codecs.decode(x, 'constructor') as nothing", async () => {
    const a = await analyze(
      bytes(
        P4,
        op.sglobal("codecs", "decode"),
        op.sbu("gASVAAAAAAAAAE4u"),
        op.sbu("constructor"),
        [0x86, 0x52],
        op.stop,
      ),
    );
    expect(rules(a)).not.toContain("scan/internal-error");
    expect(a.invalid).toBe(false);
  });
});
