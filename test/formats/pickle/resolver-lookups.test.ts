/**
 * Names reached through library helpers, vendored copies and class patches that an attack review
 * found reported medium or clean (src/formats/pickle/pymodel.ts, vm.ts, policy/denylist.json):
 *
 * - calling what a call returned, when the machine does not know what that call returns, is high
 *   (the result may be any callable: every resolver not modelled is a way to run anything);
 * - lookup helpers (numpy's `_ufunc_reconstruct`, torch's `_import_dotted_name`, scipy's uarray
 *   `unpickle_function`) are judged as the name they look up, and as the import they make when the
 *   name is computed (critical); real numpy < 1.20 ufunc pickles stay clean;
 * - vendored copies (`joblib.externals.cloudpickle`, `joblib.externals.loky`,
 *   `sklearn.externals.joblib`) and six's `six.moves` are denied as what they copy;
 * - import-by-name helpers of pandas, numpy and torch are denied;
 * - the state torch's `_rebuild_from_type_v2` sets on what `func` returned is a monkey-patch unless
 *   that is a new tensor or object (a class passed through numpy's object `scalar` is patched).
 */
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { scanOne } from "../../helpers/scan.js";
import { bytes, op } from "./helpers.js";

type Part = Parameters<typeof bytes>[number];
const MARK = [0x28];
const TUPLE = [0x74];
const TUPLE1 = [0x85];
const TUPLE2 = [0x86];
const REDUCE = [0x52];
const NEWOBJ = [0x81];
const EMPTY_TUPLE = [0x29];
const EMPTY_DICT = [0x7d];
const SETITEM = [0x73];
const NONE = [0x4e];
const LIST = [0x6c];

const pkl = (...body: Part[]) => bytes(op.proto(2), ...body, op.stop);
const call = (callee: Part, ...args: Part[]): Uint8Array => bytes(callee, MARK, ...args, TUPLE, REDUCE);
const scan = (data: Uint8Array, name = "x.pkl") => scanOne(data, name);

/** `rule:severity` of each finding. */
const found = (f: FileReport) => [...new Set(f.findings.map((x) => `${x.ruleId}:${x.severity}`))].sort();
const callees = (f: FileReport) => f.findings.map((x) => x.evidence?.callee);

/** numpy's dtype('O8') as numpy pickles it. */
const DTYPE_O = bytes(
  call(op.global("numpy", "dtype"), op.bu("O8"), [0x89, 0x88]),
  MARK,
  [0x4b, 3],
  op.bu("|"),
  NONE,
  NONE,
  NONE,
  [0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0x3f],
  TUPLE,
  [0x62],
);
const OCL = op.global("torch.optim.lr_scheduler", "OneCycleLR");
const REBUILD_V2 = op.global("torch._tensor", "_rebuild_from_type_v2");
const SCALAR = op.global("numpy.core.multiarray", "scalar");
const TYPE = op.global("builtins", "type");
/** `({}, {attr: value})`: torch's (dict state, slots state). */
const slotState = (attr: string, value: Part) => bytes(EMPTY_DICT, EMPTY_DICT, op.bu(attr), value, SETITEM, TUPLE2);
/** `_rebuild_from_type_v2(func, new_type, args, state)`. */
const rebuild = (func: Part, newType: Part, args: Part, state: Part) =>
  bytes(REBUILD_V2, MARK, func, newType, args, state, TUPLE, REDUCE);
/** numpy's object scalar of a value: the value itself. */
const scalarArgs = (v: Part) => bytes(MARK, DTYPE_O, v, TUPLE);

describe("calling what a call returned", () => {
  it("is high when the call's result is not known (an unknown function's)", async () => {
    const f = await scan(pkl(call(call(op.global("somepkg.helpers", "lookup"), op.bu("x")), op.bu("true"))));
    expect(found(f)).toContain("pickle/dynamic-call:high");
    expect(f.verdict).toBe("malicious");
  });

  it("is high for a value a resolver could not name (an item of an unknown container)", async () => {
    const item = call(op.global("operator", "getitem"), call(op.global("somepkg", "table")), op.bu("k"));
    const f = await scan(pkl(call(item)));
    expect(found(f)).toContain("pickle/dynamic-call:high");
  });

  it("stays medium for an object a class allocated (its __call__ is the class's)", async () => {
    const inst = bytes(op.global("somepkg", "Model"), EMPTY_TUPLE, NEWOBJ);
    const f = await scan(pkl(inst, MARK, TUPLE, REDUCE));
    expect(found(f)).toContain("pickle/dynamic-call:medium");
    expect(found(f)).not.toContain("pickle/dynamic-call:high");
  });
});

describe("lookup helpers are judged as the name they look up", () => {
  const ufunc = op.global("numpy.core", "_ufunc_reconstruct");

  it("keeps numpy < 1.20's ufunc pickles clean", async () => {
    const f = await scan(
      pkl(MARK, call(ufunc, op.bu("numpy"), op.bu("add")), call(ufunc, op.bu("numpy"), op.bu("sqrt")), LIST),
    );
    expect(found(f)).toEqual([]);
    expect(f.verdict).toBe("clean");
  });

  it("reports _ufunc_reconstruct('os', 'system') as os.system, critical", async () => {
    const f = await scan(pkl(call(call(ufunc, op.bu("os"), op.bu("system")), op.bu("true"))));
    expect(found(f)).toEqual(["pickle/dangerous-global:critical"]);
    expect(callees(f)).toContain("os.system");
  });

  it("covers numpy 2's numpy._core._ufunc_reconstruct", async () => {
    const f = await scan(pkl(call(op.global("numpy._core", "_ufunc_reconstruct"), op.bu("os"), op.bu("system"))));
    expect(f.verdict).toBe("malicious");
    expect(callees(f)).toContain("os.system");
  });

  it("is critical with a computed module or name (the __import__ it makes)", async () => {
    const computed = call(op.global("somepkg", "name_of"), op.bu("x"));
    for (const args of [
      [computed, op.bu("system")],
      [op.bu("os"), computed],
    ]) {
      const f = await scan(pkl(call(call(ufunc, ...args), op.bu("true"))));
      expect(found(f)).toContain("pickle/dangerous-global:critical");
      expect(callees(f)).toContain("builtins.__import__");
    }
  });

  it("reports torch's _import_dotted_name('os.system') as os.system", async () => {
    const dotted = op.global("torch._utils", "_import_dotted_name");
    const f = await scan(pkl(call(call(dotted, op.bu("os.system")), op.bu("true"))));
    expect(found(f)).toEqual(["pickle/dangerous-global:critical"]);
    expect(callees(f)).toContain("os.system");
    const g = await scan(pkl(call(dotted, call(op.global("somepkg", "name_of")))));
    expect(found(g)).toContain("pickle/dangerous-global:critical");
  });

  it("reports scipy's uarray unpickle_function(module, qualname, None) as module.qualname", async () => {
    const uf = op.global("scipy._lib._uarray._backend", "unpickle_function");
    const f = await scan(pkl(call(call(uf, op.bu("subprocess"), op.bu("getoutput"), NONE), op.bu("true"))));
    expect(callees(f)).toContain("subprocess.getoutput");
    expect(found(f)).toEqual(["pickle/dangerous-global:critical"]);
  });

  it("denies torch._utils._type (imports a dotted name and calls it)", async () => {
    const f = await scan(pkl(call(op.global("torch._utils", "_type"), NONE, op.bu("os.system"))));
    expect(found(f)).toContain("pickle/dangerous-global:critical");
  });
});

describe("vendored copies are denied as what they copy", () => {
  it.each([
    ["joblib.externals.cloudpickle.cloudpickle", "subimport"],
    ["joblib.externals.cloudpickle.cloudpickle", "_builtin_type"],
    ["joblib.externals.cloudpickle", "loads"],
    ["joblib.externals.loky.backend.fork_exec", "fork_exec"],
    ["sklearn.externals.joblib.externals.cloudpickle.cloudpickle", "subimport"],
    ["sklearn.externals.joblib.numpy_pickle", "load"],
    ["six.moves.builtins", "eval"],
    ["six.moves.cPickle", "loads"],
  ])("%s.%s", async (module, name) => {
    const f = await scan(pkl(call(op.global(module, name), op.bu("os"))));
    expect(found(f)).toContain("pickle/dangerous-global:critical");
  });
});

describe("import-by-name helpers are denied", () => {
  it.each([
    ["pandas.compat._optional", "import_optional_dependency"],
    ["pandas.plotting._core", "_load_backend"],
    ["numpy.lib.utils", "_makenamedict"],
    ["numpy.lib.utils", "lookfor"],
    ["numpy.core.function_base", "add_newdoc"],
    ["numpy.compat.py3k", "npy_load_module"],
  ])("%s.%s", async (module, name) => {
    const f = await scan(pkl(call(op.global(module, name), op.bu("os"))));
    expect(found(f)).toContain("pickle/dangerous-global:critical");
  });
});

describe("_rebuild_from_type_v2's state on what func returned", () => {
  it("is a monkey-patch of a class passed through numpy's object scalar", async () => {
    const f = await scan(pkl(rebuild(SCALAR, TYPE, scalarArgs(OCL), slotState("marker", op.bu("x")))));
    expect(found(f)).toContain("pickle/monkeypatch:high");
    expect(f.verdict).toBe("malicious");
  });

  it("is seen by the bound-method check (a patched method is not accepted)", async () => {
    const patch = rebuild(SCALAR, TYPE, scalarArgs(OCL), slotState("_annealing_cos", op.global("builtins", "len")));
    const bound = call(op.global("builtins", "getattr"), bytes(OCL, EMPTY_TUPLE, NEWOBJ), op.bu("_annealing_cos"));
    const f = await scan(pkl(MARK, patch, bound, LIST));
    expect(found(f)).toContain("pickle/monkeypatch:high");
    expect(found(f)).toContain("pickle/dangerous-global:critical");
  });

  it("is a monkey-patch of what a call not modelled returned, and always when the type is builtins.type", async () => {
    const unknown = op.global("somepkg", "factory");
    const f = await scan(pkl(rebuild(unknown, op.global("somepkg", "T"), EMPTY_TUPLE, slotState("k", op.bu("v")))));
    expect(found(f)).toContain("pickle/monkeypatch:high");
    const g = await scan(pkl(rebuild(unknown, TYPE, EMPTY_TUPLE, bytes(EMPTY_DICT, op.bu("k"), op.bu("v"), SETITEM))));
    expect(found(g)).toContain("pickle/monkeypatch:high");
  });

  it("is a monkey-patch through torch.jit's restore_type_tag (it returns its argument)", async () => {
    const f = await scan(
      pkl(
        rebuild(
          op.global("torch.jit._pickle", "restore_type_tag"),
          TYPE,
          bytes(MARK, OCL, op.bu("T"), TUPLE),
          slotState("m", op.bu("x")),
        ),
      ),
    );
    expect(found(f)).toContain("pickle/monkeypatch:high");
  });

  it("is no monkey-patch on a tensor func rebuilt (a Tensor subclass's instance state)", async () => {
    const tensor = op.global("torch._utils", "_rebuild_tensor_v2");
    const args = bytes(MARK, call(op.global("somepkg", "storage")), [0x4b, 0], TUPLE1, TUPLE1, TUPLE);
    const f = await scan(
      pkl(rebuild(tensor, op.global("torch", "Tensor"), args, bytes(EMPTY_DICT, op.bu("note"), op.bu("x"), SETITEM))),
    );
    expect(found(f)).not.toContain("pickle/monkeypatch:high");
  });
});
