/**
 * Bound methods real torch pickles write as `builtins.getattr(instance, name)` (OneCycleLR's
 * anneal_func, the hooks of Lazy modules saved whole): accepted only for an instance the machine
 * allocated of a class of the generated table, a name the table lists, and a `__dict__` that cannot
 * hold that name (src/formats/pickle/bound.ts). Real files from torch 1.13 are clean; every way of
 * shadowing the name, or of reaching getattr with an instance or a name the table does not describe,
 * keeps getattr a critical resolver; calling the bound method stays a call of an unnamed value.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FileReport } from "../../../src/report/schema.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";
import { bytes, op } from "./helpers.js";

const DIR = join(SAMPLES, "torch-bound-methods");
const sample = (name: string) => scanOne(new Uint8Array(readFileSync(join(DIR, name))), name);

const OCL = op.global("torch.optim.lr_scheduler", "OneCycleLR");
const LAZY = op.global("torch.nn.modules.linear", "LazyLinear");
const GETATTR = op.global("builtins", "getattr");
const EMPTY_TUPLE = [0x29];
const NEWOBJ = [0x81];
const EMPTY_DICT = [0x7d];
const SETITEM = [0x73];
const BUILD = [0x62];
const TUPLE1 = [0x85];
const TUPLE2 = [0x86];
const TUPLE3 = [0x87];
const REDUCE = [0x52];
const POP = [0x30];
const NONE = [0x4e];
const MARK = [0x28];
const LIST = [0x6c];
const APPEND = [0x61];
/** What {@link bytes} concatenates. */
type Part = Parameters<typeof bytes>[number];
const put = (n: number) => [0x71, n];
const get = (n: number) => [0x68, n];
/** `cls.__new__(cls)` memoised at 0 and popped. */
const allocated = (cls: Part = OCL) => bytes(cls, EMPTY_TUPLE, NEWOBJ, put(0), POP);
/** `getattr(memo[0], name)` (name given as opcodes) on the stack. */
const getattrOf = (name: Part) => bytes(GETATTR, get(0), name, TUPLE2, REDUCE);
/** A BUILD of memo[0] with `{key: value}` (value given as opcodes). */
const buildWith = (key: string, value: Part) => bytes(get(0), EMPTY_DICT, op.bu(key), value, SETITEM, BUILD, POP);
const pickle = (...parts: Part[]) => bytes(op.proto(2), ...parts, op.stop);
/** An innocuous value to shadow a method with: the analysis must not rely on the value being dangerous. */
const HARMLESS = op.global("collections", "OrderedDict");

/** Whether the report keeps getattr a critical resolver. */
function getattrCritical(file: FileReport): boolean {
  return file.findings.some(
    (f) =>
      f.ruleId === "pickle/dangerous-global" && f.severity === "critical" && f.evidence?.callee === "builtins.getattr",
  );
}

describe("real torch pickles with bound methods", () => {
  it.each([
    "onecycle-cos.pt",
    "onecycle-linear-legacy.pt",
    "onecycle-cos-p4.pkl",
    "onecycle-linear-p1.pkl",
    "lazy-linear.pt",
    "lazy-conv2d-legacy.pt",
    "swalr-cos.pt",
    "lazy-sequential.pt",
  ])("%s is clean", async (name) => {
    const file = await sample(name);
    expect(file.verdict, JSON.stringify(file.findings.map((f) => f.message))).toBe("clean");
  });

  it("the real sklearn method-shadow attack stays malicious through getattr", async () => {
    const file = await scanOne(
      new Uint8Array(readFileSync(join(SAMPLES, "real-estimators", "method-shadow.pkl"))),
      "method-shadow.pkl",
    );
    expect(file.verdict).toBe("malicious");
    expect(getattrCritical(file)).toBe(true);
  });
});

describe("a table method of a fresh instance", () => {
  it("is accepted before any BUILD and after a BUILD without the name", async () => {
    const before = await scanOne(pickle(allocated(), getattrOf(op.bu("_annealing_cos"))), "a.pkl");
    expect(before.verdict).toBe("clean");
    const after = await scanOne(
      pickle(allocated(), buildWith("total_steps", [0x4b, 3]), getattrOf(op.bu("_annealing_cos"))),
      "a.pkl",
    );
    expect(after.verdict).toBe("clean");
  });

  it("called inside the pickle is a call of an unnamed value (getattr itself not reported)", async () => {
    const file = await scanOne(
      pickle(allocated(), getattrOf(op.bu("_annealing_cos")), MARK, [0x4b, 1, 0x4b, 2, 0x4b, 0], [0x74], REDUCE),
      "a.pkl",
    );
    expect(file.findings.some((f) => f.ruleId === "pickle/dynamic-call")).toBe(true);
    expect(getattrCritical(file)).toBe(false);
    expect(file.verdict).not.toBe("clean");
  });

  it("reads nothing allowed through the bound method's attributes", async () => {
    const file = await scanOne(
      pickle(allocated(), GETATTR, getattrOf(op.bu("_annealing_cos")), op.bu("__func__"), TUPLE2, REDUCE),
      "a.pkl",
    );
    expect(getattrCritical(file)).toBe(true);
  });

  it("a second lookup after the bound method was called (it may change its instance) is judged", async () => {
    const file = await scanOne(
      pickle(
        allocated(),
        getattrOf(op.bu("_annealing_cos")),
        EMPTY_TUPLE,
        REDUCE,
        POP,
        getattrOf(op.bu("_annealing_linear")),
      ),
      "a.pkl",
    );
    expect(getattrCritical(file)).toBe(true);
  });
});

describe("a bound method handed to code that may call it (and change its instance)", () => {
  /** memo[1] = getattr(memo[0], '_annealing_cos'), then `hand` (opcodes using memo[1]), then getattr again. */
  const handedThen = (...hand: Part[]) =>
    pickle(
      allocated(),
      getattrOf(op.bu("_annealing_cos")),
      put(1),
      POP,
      ...hand,
      getattrOf(op.bu("_annealing_linear")),
    );
  const cases: [string, Uint8Array][] = [
    ["an argument of an unmodelled call", handedThen(op.global("mylib", "run"), get(1), TUPLE1, REDUCE, POP)],
    [
      "deep in a container handed over",
      handedThen(op.global("mylib", "run"), [0x5d], [0x5d], get(1), APPEND, APPEND, TUPLE1, REDUCE, POP),
    ],
    [
      "inside an object handed over (what objects hold is not followed)",
      handedThen(
        op.global("mylib", "run"),
        HARMLESS,
        EMPTY_TUPLE,
        REDUCE,
        put(2),
        op.bu("k"),
        get(1),
        SETITEM,
        TUPLE1,
        REDUCE,
        POP,
      ),
    ],
    [
      "in the state of an object of a class not on the table (its __setstate__ may call it)",
      handedThen(op.global("mylib", "Thing"), EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, op.bu("f"), get(1), SETITEM, BUILD, POP),
    ],
    [
      "set as an item of an object of another class",
      handedThen(op.global("mylib", "Thing"), EMPTY_TUPLE, NEWOBJ, op.bu("k"), get(1), SETITEM, POP),
    ],
    [
      "appended to an object of another class",
      handedThen(op.global("mylib", "Thing"), EMPTY_TUPLE, NEWOBJ, get(1), APPEND, POP),
    ],
    [
      "called through functools.partial",
      handedThen(op.global("functools", "partial"), get(1), TUPLE1, REDUCE, EMPTY_TUPLE, REDUCE, POP),
    ],
  ];
  it.each(cases)("%s", async (_label, data) => {
    const file = await scanOne(data, "a.pkl");
    expect(getattrCritical(file), JSON.stringify(file.findings.map((f) => f.message))).toBe(true);
  });

  it("stored in an OrderedDict or a dict (as a Lazy module's hook dicts hold it) it is not handed", async () => {
    const od = handedThen(
      HARMLESS,
      EMPTY_TUPLE,
      REDUCE,
      [0x4b, 1],
      get(1),
      SETITEM,
      POP,
      EMPTY_DICT,
      op.bu("h"),
      get(1),
      SETITEM,
      POP,
    );
    const file = await scanOne(od, "a.pkl");
    expect(file.verdict, JSON.stringify(file.findings.map((f) => f.message))).toBe("clean");
  });

  it("an unmodelled call that is handed a container too large to look through releases every method", async () => {
    const items: Part[] = [];
    for (let i = 0; i < 600; i++) items.push(EMPTY_TUPLE, APPEND);
    const big = handedThen(op.global("mylib", "run"), [0x5d], ...items, get(1), APPEND, TUPLE1, REDUCE, POP);
    expect(getattrCritical(await scanOne(big, "a.pkl"))).toBe(true);
  });
});

describe("shadowing the method name keeps getattr critical", () => {
  const shadowing: [string, Uint8Array][] = [
    ["a BUILD state with the name", pickle(allocated(), buildWith("_annealing_cos", HARMLESS))],
    [
      "the slots half of a (dict, slots) state",
      pickle(allocated(), get(0), NONE, EMPTY_DICT, op.bu("_annealing_cos"), HARMLESS, SETITEM, TUPLE2, BUILD, POP),
    ],
    ["a second BUILD", pickle(allocated(), buildWith("total_steps", [0x4b, 3]), buildWith("_annealing_cos", HARMLESS))],
    [
      "a state that is a dict subclass",
      pickle(
        allocated(),
        get(0),
        HARMLESS,
        EMPTY_TUPLE,
        REDUCE,
        op.bu("_annealing_cos"),
        HARMLESS,
        SETITEM,
        BUILD,
        POP,
      ),
    ],
    ["a __setstate__ key (a later BUILD calls it)", pickle(allocated(), buildWith("__setstate__", HARMLESS))],
    ["a dunder key (__class__)", pickle(allocated(), buildWith("__class__", HARMLESS))],
    [
      "a state dict handed to unmodelled code before BUILD",
      pickle(
        allocated(),
        EMPTY_DICT,
        put(1),
        POP,
        op.global("mylib", "fill"),
        get(1),
        TUPLE1,
        REDUCE,
        POP,
        get(0),
        get(1),
        BUILD,
        POP,
      ),
    ],
    [
      "a state key computed at run time",
      pickle(
        allocated(),
        get(0),
        EMPTY_DICT,
        op.global("mylib", "key"),
        EMPTY_TUPLE,
        REDUCE,
        HARMLESS,
        SETITEM,
        BUILD,
        POP,
      ),
    ],
    [
      "the instance handed to unmodelled code",
      pickle(allocated(), op.global("mylib", "prepare"), get(0), TUPLE1, REDUCE, POP),
    ],
    [
      "the instance's namespace taken by vars()",
      pickle(
        allocated(),
        op.global("mylib", "fill"),
        op.global("builtins", "vars"),
        get(0),
        TUPLE1,
        REDUCE,
        TUPLE1,
        REDUCE,
        POP,
      ),
    ],
    ["an item set on the instance", pickle(allocated(), get(0), op.bu("k"), HARMLESS, SETITEM, POP)],
    [
      "the class monkey-patched",
      pickle(allocated(), OCL, NONE, EMPTY_DICT, op.bu("_annealing_cos"), HARMLESS, SETITEM, TUPLE2, BUILD, POP),
    ],
  ];
  it.each(shadowing)("%s", async (_label, prefix) => {
    const data = bytes(prefix.subarray(0, prefix.length - 1), getattrOf(op.bu("_annealing_cos")), op.stop);
    const file = await scanOne(data, "a.pkl");
    expect(getattrCritical(file), JSON.stringify(file.findings.map((f) => f.message))).toBe(true);
  });

  it("nn.Module.__setstate__ takes a list of pairs: a list state shadows", async () => {
    const data = pickle(
      allocated(LAZY),
      get(0),
      MARK,
      op.bu("_infer_parameters"),
      HARMLESS,
      TUPLE2,
      LIST,
      BUILD,
      POP,
      getattrOf(op.bu("_infer_parameters")),
    );
    expect(getattrCritical(await scanOne(data, "a.pkl"))).toBe(true);
    // the (dict, slots) pair a plain class takes is not a Module state either
    const pair = pickle(
      allocated(LAZY),
      get(0),
      EMPTY_DICT,
      NONE,
      TUPLE2,
      BUILD,
      POP,
      getattrOf(op.bu("_infer_parameters")),
    );
    expect(getattrCritical(await scanOne(pair, "a.pkl"))).toBe(true);
    const plain = pickle(allocated(LAZY), buildWith("training", [0x88]), getattrOf(op.bu("_infer_parameters")));
    expect((await scanOne(plain, "a.pkl")).verdict).toBe("clean");
  });
});

describe("instances and names the table does not describe keep getattr critical", () => {
  const cases: [string, Uint8Array][] = [
    [
      "a class not on the table",
      pickle(allocated(op.global("collections", "OrderedDict")), getattrOf(op.bu("setdefault"))),
    ],
    ["a name the table does not list for the class", pickle(allocated(), getattrOf(op.bu("step")))],
    ["a method of another table class", pickle(allocated(), getattrOf(op.bu("_infer_parameters")))],
    ["a dunder", pickle(allocated(), getattrOf(op.bu("__init__")))],
    [
      "a name computed by unmodelled code",
      pickle(allocated(), getattrOf(bytes(op.global("mylib", "name"), EMPTY_TUPLE, REDUCE))),
    ],
    [
      "an instance of a class computed at run time",
      pickle(
        op.global("mylib", "make_class"),
        EMPTY_TUPLE,
        REDUCE,
        EMPTY_TUPLE,
        NEWOBJ,
        put(0),
        POP,
        getattrOf(op.bu("_annealing_cos")),
      ),
    ],
    [
      "an instance made by calling the class (its __init__ ran)",
      pickle(OCL, EMPTY_TUPLE, REDUCE, put(0), POP, getattrOf(op.bu("_annealing_cos"))),
    ],
    [
      "an instance made by copyreg._reconstructor with a base other than object",
      pickle(
        op.global("copyreg", "_reconstructor"),
        OCL,
        op.global("builtins", "dict"),
        NONE,
        TUPLE3,
        REDUCE,
        put(0),
        POP,
        getattrOf(op.bu("_annealing_cos")),
      ),
    ],
    ["getattr with a default", pickle(allocated(), GETATTR, get(0), op.bu("_annealing_cos"), NONE, TUPLE3, REDUCE)],
    [
      "object.__getattribute__ instead of getattr",
      pickle(
        allocated(),
        op.global("builtins", "object.__getattribute__"),
        get(0),
        op.bu("_annealing_cos"),
        TUPLE2,
        REDUCE,
      ),
    ],
    [
      "the bound method as the instance",
      pickle(allocated(), getattrOf(op.bu("_annealing_cos")), put(0), POP, getattrOf(op.bu("_annealing_cos"))),
    ],
  ];
  it.each(cases)("%s", async (_label, data) => {
    const file = await scanOne(data, "a.pkl");
    const critical = file.findings.some(
      (f) =>
        f.ruleId === "pickle/dangerous-global" &&
        f.severity === "critical" &&
        (f.evidence?.callee === "builtins.getattr" || f.evidence?.callee === "builtins.object.__getattribute__"),
    );
    expect(critical, JSON.stringify(file.findings.map((f) => f.message))).toBe(true);
  });

  it("copyreg._reconstructor with object as base is an allocation", async () => {
    const data = pickle(
      op.global("copyreg", "_reconstructor"),
      OCL,
      op.global("builtins", "object"),
      NONE,
      TUPLE3,
      REDUCE,
      put(0),
      POP,
      getattrOf(op.bu("_annealing_cos")),
    );
    expect((await scanOne(data, "a.pkl")).verdict).toBe("clean");
  });

  it("a list holding the bound method is an ordinary list", async () => {
    const data = pickle(allocated(), [0x5d], getattrOf(op.bu("_annealing_cos")), APPEND);
    expect((await scanOne(data, "a.pkl")).verdict).toBe("clean");
  });
});
