/**
 * joblib's `NumpyUnpickler.load_build` reads inline array data after a BUILD whose object is a
 * `NumpyArrayWrapper` instance, however the instance was made (an `isinstance` test). An instance
 * passed through a callable that returns its argument (numpy's `scalar` of the object dtype,
 * torch's `_rebuild_from_type_v2`), kept by the memo past its budgets, or held by a value the
 * machine cannot see into must not let the array bytes be read as opcodes (they hide a payload
 * joblib runs). Modelled identities give the wrapper back; anything else fails closed
 * (`joblib/array-layout`).
 */
import { describe, expect, it } from "vitest";
import { scanOne } from "../../helpers/scan.js";
import { analyze, bytes, op, rules, u32le } from "../pickle/helpers.js";

/** What joblib runs: hidden from a reading that takes the array data for opcodes. */
const HIDDEN = "cposix\nsystem\n(S'echo hidden'\ntR0";
/** 5 bytes joblib reads as the u1[5] array data, and a reading that parses opcodes as BINBYTES. */
const DATA = bytes([0x42], u32le(HIDDEN.length));

const DTYPE = (name: string) => bytes("cnumpy\ndtype\n", op.bu(name), [0x89, 0x88, 0x87, 0x52]);
const WRAPPER_NEW = "ccopyreg\n__newobj__\ncjoblib.numpy_pickle\nNumpyArrayWrapper\n\x85R";
const STATE = bytes(
  "(",
  op.bu("subclass"),
  "cnumpy\nndarray\n",
  op.bu("shape"),
  "K\x05\x85",
  op.bu("order"),
  op.bu("C"),
  op.bu("dtype"),
  DTYPE("u1"),
  op.bu("allow_mmap"),
  "\x89db",
);

/** `callee(<pre>, wrapper)` then BUILD and the inline data. */
function through(pre: Uint8Array | string, callee = "cnumpy.core.multiarray\nscalar\n"): Uint8Array {
  return bytes([0x80, 0x02], callee, pre, WRAPPER_NEW, "\x86R", STATE, DATA, HIDDEN, ".");
}

describe("joblib array wrappers behind identities and unknown values", () => {
  it("numpy scalar of the object dtype returns the wrapper: the array data is skipped, the payload seen", async () => {
    const a = await analyze(through(DTYPE("O")), { context: "joblib" });
    expect(rules(a)).toContain("pickle/dangerous-global");
    expect(a.findings.find((f) => f.ruleId === "pickle/dangerous-global")?.message).toContain("posix.system");
    expect(rules(a)).not.toContain("joblib/array-layout");
  });

  it("a call the machine does not model that is handed the wrapper fails closed", async () => {
    // scalar of another dtype: not an identity (Python raises), but the machine cannot know what it is
    const a = await analyze(through(DTYPE("u1")), { context: "joblib" });
    expect(rules(a)).toContain("joblib/array-layout");
    expect(a.invalid).toBe(true);
  });

  it("a BUILD on an unknown value fails closed once the wrapper class is referenced", async () => {
    // the wrapper class is referenced; the BUILD target is an unresolvable persistent object
    const pickle = bytes(
      [0x80, 0x02],
      "cjoblib.numpy_pickle\nNumpyArrayWrapper\n0",
      op.bu("x"),
      "Q",
      STATE,
      DATA,
      HIDDEN,
      ".",
    );
    const a = await analyze(pickle, { context: "joblib" });
    expect(rules(a)).toContain("joblib/array-layout");
  });

  it("torch's _rebuild_from_type_v2(f, NumpyArrayWrapper, ...) then BUILD fails closed", async () => {
    const pickle = bytes(
      [0x80, 0x02],
      "ctorch._tensor\n_rebuild_from_type_v2\n(",
      "cbuiltins\nobject\n",
      "cjoblib.numpy_pickle\nNumpyArrayWrapper\n",
      ")}tR",
      STATE,
      DATA,
      HIDDEN,
      ".",
    );
    const a = await analyze(pickle, { context: "joblib" });
    expect(rules(a)).toContain("joblib/array-layout");
  });

  it("an attribute read from an object (getattr of an instance) then BUILD fails closed", async () => {
    const pickle = bytes(
      [0x80, 0x02],
      "cbuiltins\ngetattr\n",
      "ccollections\nOrderedDict\n)\x81",
      "}",
      op.bu("w"),
      WRAPPER_NEW,
      "sb",
      op.bu("w"),
      "\x86R",
      STATE,
      DATA,
      HIDDEN,
      ".",
    );
    const a = await analyze(pickle, { context: "joblib" });
    expect(rules(a)).toContain("joblib/array-layout");
  });

  it("a wrapper instance memoised past the memo's budgets is kept", async () => {
    const fill = 40; // detail cap 8: 8 dense + 32 far entries, then the wrapper
    const pickle = bytes(
      [0x80, 0x04],
      "cbuiltins\nint\n\x94",
      "2\x94".repeat(fill - 1),
      "0",
      WRAPPER_NEW,
      "\x940",
      [0x6a],
      u32le(fill),
      STATE,
      DATA,
      HIDDEN,
      ".",
    );
    const a = await analyze(pickle, { context: "joblib", machine: { memoDetailCap: 8 } });
    expect(a.findings.find((f) => f.ruleId === "pickle/dangerous-global")?.message).toContain("posix.system");
  });

  it("a BUILD on a memo entry not kept fails closed once the wrapper class is referenced", async () => {
    const fill = 40;
    // a list holding the wrapper is dropped by the memo; an item taken from it is unknown
    const pickle = bytes(
      [0x80, 0x04],
      "cbuiltins\nint\n\x94",
      "2\x94".repeat(fill - 1),
      "0",
      "(",
      WRAPPER_NEW,
      "l\x940",
      "coperator\ngetitem\n",
      [0x6a],
      u32le(fill),
      "K\x00\x86R",
      STATE,
      DATA,
      HIDDEN,
      ".",
    );
    const a = await analyze(pickle, { context: "joblib", machine: { memoDetailCap: 8 } });
    expect(rules(a)).toContain("joblib/array-layout");
  });

  it("the reviewer's file: scalar(dtype('O'), wrapper) in a .joblib file is malicious", async () => {
    const file = await scanOne(through(DTYPE("O")), "model.joblib");
    expect(file.verdict).toBe("malicious");
  });
});

describe("BUILD state keys past the container cap", () => {
  it("an `extend` set past the 64 kept keys still routes APPENDS to it", async () => {
    const keys = Array.from({ length: 70 }, (_, i) => bytes(op.bu(`k${i}`), "N"));
    const pickle = bytes(
      [0x80, 0x02],
      "ccollections\nOrderedDict\n)\x81",
      "}(",
      ...keys,
      op.bu("extend"),
      "cposix\nsystem\n",
      "ub",
      "(",
      op.bu("echo hi"),
      "e.",
    );
    const a = await analyze(pickle);
    const f = a.findings.find((x) => x.ruleId === "pickle/dangerous-global");
    expect(f?.message).toMatch(/calls posix\.system/);
  });
});

describe("identities hand their argument on", () => {
  /** A pickle (protocol 2) whose REDUCE runs `echo nested`. */
  const INNER = bytes([0x80, 0x02], "cposix\nsystem\n", op.bu("echo nested"), "\x85R.");
  const LITERAL = bytes([0x42], u32le(INNER.length), INNER);
  const handed = (a: Awaited<ReturnType<typeof analyze>>) =>
    a.findings.some(
      (f) => f.ruleId === "pickle/nested-payload" && f.message.includes("handed to torch.storage._load_from_bytes"),
    );

  it("numpy scalar of the object dtype: the bytes reach torch.storage._load_from_bytes", async () => {
    const a = await analyze(
      bytes(
        [0x80, 0x02],
        "ctorch.storage\n_load_from_bytes\ncnumpy.core.multiarray\nscalar\n",
        DTYPE("O"),
        LITERAL,
        "\x86R\x85R.",
      ),
    );
    expect(handed(a)).toBe(true);
    expect(rules(a)).toContain("pickle/dangerous-global");
  });

  it("torch's _rebuild_from_type_v2(scalar, bytes, args, {}) returns scalar(*args)", async () => {
    const a = await analyze(
      bytes(
        [0x80, 0x02],
        "ctorch.storage\n_load_from_bytes\nctorch._tensor\n_rebuild_from_type_v2\n(",
        "cnumpy.core.multiarray\nscalar\ncbuiltins\nbytes\n",
        DTYPE("O"),
        LITERAL,
        "\x86}tR\x85R.",
      ),
    );
    expect(handed(a)).toBe(true);
  });
});
