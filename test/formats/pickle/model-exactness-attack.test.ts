// Attacks on what the pickle machine models (found by an attack review): a model that guesses a
// value the loader would compute otherwise, an allowed deserializer handed to code the machine
// does not follow, and joblib inline arrays whose size the machine reads differently from numpy.
// Each pickle is built here byte by byte as the review's Python made it; each test fails on the
// code before the fix (checked).
import { describe, expect, it } from "vitest";
import { scan } from "../../../src/index.js";
import { bytes, op } from "./helpers.js";

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
/** BINUNICODE of a str (UTF-8, as the pickler writes it). */
const str = (s: string) => bytes([0x58, ...u32(Buffer.byteLength(s, "utf8"))], Buffer.from(s, "utf8"));
/** BINBYTES. */
const bin = (b: Uint8Array) => bytes([0x42, ...u32(b.length)], b);
const MARK = [0x28];
const TUPLE_REDUCE = [0x74, 0x52];
const SYSTEM = (tag: string) => bytes(`cposix\nsystem\n(S'touch /tmp/mg-${tag}'\ntR.`);

async function verdictOf(data: Uint8Array, name = "model.pkl") {
  const report = await scan({ bytes: data, name });
  const findings = report.files.flatMap((f) => f.findings);
  return { verdict: report.verdict, findings };
}

describe("pickle models: an allowed deserializer handed to code the machine does not follow", () => {
  for (const ctor of ["__randomstate_ctor", "__generator_ctor", "__bit_generator_ctor"]) {
    it(`numpy.random._pickle.${ctor}(payload, torch.storage._load_from_bytes) is malicious`, async () => {
      // numpy calls its second argument on its first: _load_from_bytes(payload) = torch.load
      const data = bytes(
        op.proto(2),
        op.global("numpy.random._pickle", ctor),
        MARK,
        bin(SYSTEM("rs")),
        op.global("torch.storage", "_load_from_bytes"),
        TUPLE_REDUCE,
        op.stop,
      );
      const { verdict, findings } = await verdictOf(data);
      expect(verdict).toBe("malicious");
      const f = findings.find((x) => x.ruleId === "pickle/dangerous-global" && x.evidence?.use === "escaped");
      expect(f?.severity).toBe("critical");
      expect(f?.evidence?.callee).toBe("torch.storage._load_from_bytes");
    });
  }

  it("a deserializer dropped past a list's kept items escapes too (fast path and machine)", async () => {
    // [0]*70 + [_load_from_bytes] + [0]: the 71st item is not kept; a callee may call it later
    const items = bytes(...Array.from({ length: 70 }, () => [0x4b, 0]));
    const data = bytes(
      op.proto(2),
      [0x5d], // EMPTY_LIST
      MARK,
      items,
      op.global("torch.storage", "_load_from_bytes"),
      [0x4b, 0],
      [0x65], // APPENDS
      op.stop,
    );
    const { verdict, findings } = await verdictOf(data);
    expect(verdict).toBe("malicious");
    expect(findings.some((x) => x.evidence?.use === "escaped")).toBe(true);
  });

  it("torch.storage._load_from_bytes called on literal bytes stays analysed, not escaped", async () => {
    const data = bytes(
      op.proto(2),
      op.global("torch.storage", "_load_from_bytes"),
      MARK,
      bin(bytes(op.proto(2), [0x4e], op.stop)),
      TUPLE_REDUCE,
      op.stop,
    );
    const { findings } = await verdictOf(data);
    expect(findings.some((x) => x.evidence?.use === "escaped")).toBe(false);
    expect(findings.find((x) => x.ruleId === "pickle/nested-payload")?.severity).toBe("info");
  });
});

describe("pickle models: values the loader computes otherwise are unknown, never guessed", () => {
  // S's UTF-8 bytes are harmless; the bytes Python computes from it are a posix.system pickle.
  const mal = (tag: string) => {
    let m = `cposix\nsystem\n(S'touch /tmp/mg-${tag}`;
    m += `${" ".repeat(65 - m.length - 5)}'\ntR.`;
    return m;
  };
  // SHORT_BINBYTES of 0x80 (latin-1) or of 0xc2 (UTF-8: 'C' c2 80 ...): the lengths differ
  const latin1Trick = (tag: string) => `C\x80${"a".repeat(128)}${mal(tag)}.`;
  const LOAD = bytes(op.proto(2), op.global("torch.storage", "_load_from_bytes"), MARK);
  const END = bytes(TUPLE_REDUCE, op.stop);

  it("_codecs.encode(S, <encoding computed at run time>) is not taken for UTF-8", async () => {
    const data = bytes(
      LOAD,
      op.global("_codecs", "encode"),
      MARK,
      str(latin1Trick("enc")),
      op.global("builtins", "str"),
      MARK,
      str("latin1"),
      TUPLE_REDUCE,
      TUPLE_REDUCE,
      END,
    );
    const { verdict, findings } = await verdictOf(data);
    expect(verdict).not.toBe("clean");
    expect(findings.find((x) => x.ruleId === "pickle/nested-payload")?.severity).toBe("high"); // fails closed: the loader runs it
  });

  it("_codecs.encode(S, 'ascii', 'ignore') is not taken for strict UTF-8", async () => {
    const m = "cposix\nsystem\n(S'touch /tmp/mg-enc2'\ntR.";
    const pad = "b".repeat(194 - 2 - 10 - m.length);
    const s = `C\x80\n${"a".repeat(10)}${m}${pad}.`;
    const data = bytes(
      LOAD,
      op.global("_codecs", "encode"),
      MARK,
      str(s),
      str("ascii"),
      str("ignore"),
      TUPLE_REDUCE,
      END,
    );
    const { verdict } = await verdictOf(data);
    expect(verdict).not.toBe("clean");
  });

  it("bytes(S, 'latin1') encodes as latin-1: the payload analysed is the one loaded", async () => {
    const data = bytes(
      LOAD,
      op.global("builtins", "bytes"),
      MARK,
      str(latin1Trick("bytes")),
      str("latin1"),
      TUPLE_REDUCE,
      END,
    );
    const { verdict, findings } = await verdictOf(data);
    expect(verdict).toBe("malicious");
    expect(findings.some((x) => x.evidence?.callee === "posix.system")).toBe(true);
  });

  it("bytes([..., int('3'), ...]): an item not known is not taken for 0", async () => {
    const q = SYSTEM("bc");
    const items: (number | undefined)[] = [0x43, undefined, 0x30, 0x43, q.length, ...q, 0x2e];
    const list = bytes(
      [0x5d, 0x28],
      ...items.map((it) =>
        it === undefined
          ? bytes(op.global("builtins", "int"), MARK, str("3"), TUPLE_REDUCE)
          : Uint8Array.from([0x4b, it]),
      ),
      [0x65],
    );
    const data = bytes(LOAD, op.global("builtins", "bytes"), MARK, list, TUPLE_REDUCE, END);
    const { verdict, findings } = await verdictOf(data);
    expect(verdict).not.toBe("clean");
    expect(findings.find((x) => x.ruleId === "pickle/nested-payload")?.severity).toBe("high"); // fails closed: the loader runs it
  });
});

describe("joblib inline arrays: a size numpy would read otherwise stops the analysis", () => {
  const WRAPPER = bytes(op.global("joblib.numpy_pickle", "NumpyArrayWrapper"), [0x29, 0x81]); // () NEWOBJ
  const s = (x: string) => op.sbu(x);
  const dtype = (typestr: string, state?: Uint8Array) =>
    bytes(op.global("numpy", "dtype"), MARK, s(typestr), [0x89, 0x88], TUPLE_REDUCE, state ?? []);
  const wrapperState = (dt: Uint8Array, extra: Uint8Array = new Uint8Array(0), shape = 1) =>
    bytes(
      [0x7d, 0x28], // EMPTY_DICT MARK
      s("subclass"),
      op.global("numpy", "ndarray"),
      s("shape"),
      [0x4b, shape, 0x85],
      s("order"),
      s("C"),
      s("dtype"),
      dt,
      s("allow_mmap"),
      [0x89],
      extra,
      [0x75, 0x62], // SETITEMS BUILD
    );
  const MAL = bytes("0", SYSTEM("jl"));

  it("a fixed-size dtype whose state claims another size (numpy keeps 8 for f8)", async () => {
    // state (3, '<', None, None, None, 1000, -1, 0): numpy ignores the 1000
    const st = bytes(
      MARK,
      [0x4b, 3],
      s("<"),
      [0x4e, 0x4e, 0x4e],
      [0x4d, 0xe8, 0x03],
      [0x4a, 0xff, 0xff, 0xff, 0xff],
      [0x4b, 0],
      [0x74, 0x62],
    );
    let tail = bytes(new Uint8Array(8), MAL);
    tail = bytes(tail, new Uint8Array(1000 - tail.length));
    const data = bytes(op.proto(2), WRAPPER, wrapperState(dtype("f8", st)), tail, op.stop);
    for (const name of ["model.joblib", "model.pkl"]) {
      const { verdict, findings } = await verdictOf(data, name);
      expect(verdict).not.toBe("clean");
      expect(findings.some((x) => x.ruleId === "joblib/array-layout")).toBe(true);
    }
  });

  it("a type string numpy reads as 16 bytes ('i8,f8') is not read as 8", async () => {
    const data = bytes(
      op.proto(2),
      WRAPPER,
      wrapperState(dtype("i8,f8")),
      new Uint8Array(8),
      [0x43, 6 + MAL.length + 0, ...new Uint8Array(6)],
      MAL,
      op.stop,
    );
    const { verdict, findings } = await verdictOf(data, "model.joblib");
    expect(verdict).not.toBe("clean");
    expect(findings.some((x) => x.ruleId === "joblib/array-layout")).toBe(true);
  });

  it("a state dict past the kept keys that sets 'shape' again is not trusted", async () => {
    const pads = bytes(...Array.from({ length: 70 }, (_, i) => bytes(s(`pad${i}`), [0x4e])));
    const extra = bytes(pads, s("shape"), [0x4b, 1, 0x85]); // joblib's shape: (1,)
    let tail = bytes(new Uint8Array(8), MAL);
    tail = bytes(tail, new Uint8Array(1008 - tail.length));
    const data = bytes(op.proto(2), WRAPPER, wrapperState(dtype("f8"), extra, 126), tail, op.stop);
    const { verdict, findings } = await verdictOf(data, "model.joblib");
    expect(verdict).not.toBe("clean");
    expect(findings.some((x) => x.ruleId === "joblib/array-layout")).toBe(true);
  });

  it("numpy's own dtypes keep their sizes (f8, U5, V16 structured, O8)", async () => {
    const { dtypeInfo } = await import("../../../src/formats/pickle/pymodel.js");
    const { PyCall, PyRef, PySeq } = await import("../../../src/formats/pickle/values.js");
    const site = { name: "numpy.dtype" } as never;
    const make = (typestr: string, state: unknown[]) => {
      const args = new PySeq("tuple");
      args.push(typestr, 64);
      const call = new PyCall(new PyRef("numpy.dtype", site), "numpy.dtype", args, "REDUCE", 0);
      const st = new PySeq("tuple");
      for (const x of state) st.push(x as never, 64);
      call.state = st;
      return dtypeInfo(call);
    };
    expect(make("f8", [3, "<", null, null, null, -1, -1, 0])?.itemsize).toBe(8);
    expect(make("U5", [3, "<", null, null, null, 20, 4, 8])?.itemsize).toBe(20);
    expect(make("V16", [3, "|", null, new PySeq("tuple"), new PySeq("tuple"), 16, 1, 16])?.itemsize).toBe(16);
    expect(make("O8", [3, "|", null, null, null, -1, -1, 63])).toMatchObject({ itemsize: 8, object: true });
    expect(make("f8", [3, "<", null, null, null, 16, -1, 0])).toBeUndefined();
    expect(make("float64", [3, "<", null, null, null, -1, -1, 0])).toBeUndefined();
  });
});

// A second review of the fixes above (its reproducers, rebuilt here byte for byte).
const G = (m: string, n: string) => op.global(m, n);
const SB = (x: string) => op.sbu(x);
const I32 = (n: number) => bytes([0x4a, ...u32(n >>> 0)]);
const call = (fn: Uint8Array, ...args: (Uint8Array | number[])[]) => bytes(fn, MARK, ...args, TUPLE_REDUCE);
const LFB = G("torch.storage", "_load_from_bytes");
const CTOR = G("numpy.random._pickle", "__randomstate_ctor");
/** `numpy.dtype(typestr, False, True)` with the state numpy writes for a fixed-size type. */
const numpyDtype = (typestr: string, order = "<") =>
  bytes(
    call(G("numpy", "dtype"), SB(typestr), [0x89], [0x88]),
    MARK,
    [0x4b, 3],
    SB(order),
    [0x4e, 0x4e, 0x4e],
    I32(-1),
    I32(-1),
    [0x4b, 0, 0x74, 0x62],
  );

describe("pickle models: items the machine cannot read exactly (second review)", () => {
  it("{'a': numpy.dtype, str('a'): sink}['a'] is not taken for numpy.dtype", async () => {
    for (const getter of ["dict.__getitem__", "dict.get"]) {
      const d = bytes([0x7d], MARK, SB("a"), G("numpy", "dtype"), call(G("builtins", "str"), SB("a")), LFB, [0x75]);
      const fn = call(G("builtins", getter), d, SB("a"));
      const { verdict, findings } = await verdictOf(bytes(op.proto(4), call(fn, bin(SYSTEM("a11"))), op.stop));
      expect(verdict).toBe("malicious");
      expect(findings.some((x) => x.evidence?.use === "escaped")).toBe(true);
    }
  });

  it("dict.get's default argument escapes when the key is not found", async () => {
    const GET = G("builtins", "dict.get");
    const ok = bytes(call(GET, bytes([0x7d], SB("b"), G("numpy", "dtype"), [0x73]), SB("b")), [0x30]);
    const x = call(GET, bytes([0x7d]), SB("k"), LFB);
    const { verdict } = await verdictOf(bytes(op.proto(4), ok, call(CTOR, bin(SYSTEM("a13")), x), op.stop));
    expect(verdict).toBe("malicious");
  });

  it("a sink inside four nested functools.partial still escapes", async () => {
    let f = LFB;
    for (let i = 0; i < 4; i++) f = call(G("functools", "partial"), f);
    const { verdict } = await verdictOf(bytes(op.proto(2), call(CTOR, bin(SYSTEM("a1")), f), op.stop));
    expect(verdict).toBe("malicious");
  });

  it("a shared nested list dropped 20,000 times is walked once (was minutes)", async () => {
    const PUT = (i: number) => bytes([0x72, ...u32(i)]);
    const GET = (i: number) => bytes([0x6a, ...u32(i)]);
    const parts: Uint8Array[] = [Uint8Array.from(op.proto(2))];
    parts.push(bytes([0x5d], MARK, ...Array.from({ length: 64 }, () => [0x4b, 0]), [0x65], PUT(1), [0x30]));
    for (const lvl of [2, 3, 4])
      parts.push(bytes([0x5d], MARK, ...Array.from({ length: 64 }, () => GET(lvl - 1)), [0x65], PUT(lvl), [0x30]));
    parts.push(bytes([0x5d], MARK, ...Array.from({ length: 64 }, () => [0x4b, 0]), [0x65]));
    parts.push(bytes(MARK, ...Array.from({ length: 20_000 }, () => GET(4)), [0x65], op.stop));
    const { verdict } = await verdictOf(bytes(...parts));
    expect(verdict).toBe("clean");
  }, 20_000);
});

describe("joblib arrays whose layout Python computes otherwise (second review)", () => {
  const EMPTY_DICT = [0x7d];
  const dtypeF8 = numpyDtype("f8");
  const state = (shape: number, extra: Uint8Array = new Uint8Array(0), mmap = 0x88) =>
    bytes(
      EMPTY_DICT,
      MARK,
      SB("subclass"),
      G("numpy", "ndarray"),
      SB("shape"),
      I32(shape),
      [0x85],
      SB("order"),
      SB("C"),
      SB("dtype"),
      dtypeF8,
      SB("allow_mmap"),
      [mmap],
      extra,
      [0x75],
    );
  const WRAPPER = bytes(G("joblib.numpy_pickle", "NumpyArrayWrapper"), [0x29, 0x81]);
  const MAL = bytes("cposix\nsystem\n(S'touch /tmp/mg-jl2'\ntR0");

  it("a state key computed at run time ('shape' again through builtins.str) stops the reading", async () => {
    const extra = bytes(call(G("builtins", "str"), SB("shape")), I32(1), [0x85]);
    const fill = 1000 * 8 - 8 - MAL.length;
    const filler = bytes([0x42, ...u32(fill - 6)], new Uint8Array(fill - 6), [0x30]);
    const data = bytes(op.proto(2), WRAPPER, state(1000, extra), [0x62], new Uint8Array(8), MAL, filler, op.stop);
    const { verdict } = await verdictOf(data, "model.joblib");
    expect(verdict).not.toBe("clean");
  });

  it("a wrapper built twice (memo GET, second state without the alignment) stops the reading", async () => {
    const withAlign = state(1, bytes(SB("numpy_array_alignment_bytes"), [0x4b, 0x10]));
    const first = bytes(WRAPPER, [0x71, 1], withAlign, [0x62], [0], new Uint8Array(8), [0x30]);
    const second = bytes([0x68, 1], state(1), [0x62], new Uint8Array(209));
    const { verdict, findings } = await verdictOf(
      bytes(op.proto(2), first, second, [0x30, 0x4e], op.stop),
      "model.joblib",
    );
    expect(verdict).not.toBe("clean");
    expect(findings.some((x) => x.ruleId === "joblib/array-layout")).toBe(true);
  });

  it("a computed __class__ key in BUILD's slot state is a special attribute set", async () => {
    const slots = bytes(
      EMPTY_DICT,
      call(G("builtins", "str"), SB("__class__")),
      G("joblib.numpy_pickle", "NumpyArrayWrapper"),
      [0x73],
    );
    const obj = bytes(call(G("argparse", "Namespace")), MARK, state(64, new Uint8Array(0), 0x89), slots, [0x74, 0x62]);
    const data = bytes([0x42, ...u32(64 * 8 - 5 + MAL.length)], new Uint8Array(64 * 8 - 5));
    const { verdict, findings } = await verdictOf(bytes(op.proto(2), obj, data, MAL, [0x4e], op.stop), "model.joblib");
    expect(verdict).toBe("malicious");
    expect(findings.some((x) => x.ruleId === "pickle/monkeypatch")).toBe(true);
  });
});

describe("values Python keeps apart or changes later (third review)", () => {
  const RS = (tag: string, x: Uint8Array) => bytes(op.proto(4), call(CTOR, bin(SYSTEM(tag)), x), op.stop);
  const U = (b: Uint8Array) => bytes([0x58, ...u32(b.length)], b);
  // '\ud83d\udc00' (two lone surrogates, surrogatepass) and '\U0001F400' are two keys in Python
  const CESU = U(Uint8Array.from([0xed, 0xa0, 0xbd, 0xed, 0xb0, 0x80]));
  const ASTRAL = U(Buffer.from("\u{1F400}", "utf8"));

  it("keys that are one string here but two in Python (surrogates) are not merged silently", async () => {
    const d = bytes([0x7d], MARK, CESU, LFB, ASTRAL, G("numpy", "dtype"), [0x75]);
    const { verdict } = await verdictOf(RS("b1", call(G("builtins", "dict.get"), d, CESU)));
    expect(verdict).toBe("malicious");
  });

  it("a BUILD state handed to __setstate__ is not read as it was (sklearn pops a key)", async () => {
    const obj = call(
      G("copyreg", "_reconstructor"),
      G("sklearn.preprocessing._data", "StandardScaler"),
      G("builtins", "object"),
      bytes("N"),
    );
    const state = bytes(
      [0x7d, 0x71, 5],
      MARK,
      SB("_sklearn_version"),
      G("numpy", "dtype"),
      SB("with_mean"),
      [0x88, 0x75],
    );
    const x = call(G("builtins", "dict.get"), bytes([0x68, 5]), SB("_sklearn_version"), LFB);
    const { verdict } = await verdictOf(
      bytes(op.proto(4), obj, state, [0x62, 0x30], call(CTOR, bin(SYSTEM("b10")), x), op.stop),
    );
    expect(verdict).toBe("malicious");
  });

  it("a Python 2 str of non-ASCII bytes has no value (torch.load decodes UTF-8, the machine latin-1)", async () => {
    const b = bytes("C\xc2\x85", "A".repeat(133), SYSTEM("b6"));
    const arg = call(G("_codecs", "encode"), bytes([0x54, ...u32(b.length)], b), SB("latin1"));
    const { verdict, findings } = await verdictOf(bytes(op.proto(2), call(LFB, arg), op.stop));
    expect(verdict).not.toBe("clean");
    expect(findings.find((x) => x.ruleId === "pickle/nested-payload")?.severity).toBe("high"); // fails closed: the loader runs it
  });

  it("a joblib wrapper made by calling the class (its __init__ sets the alignment) stops the reading", async () => {
    const DT = numpyDtype("u1", "|");
    const w = call(
      G("joblib.numpy_pickle", "NumpyArrayWrapper"),
      G("numpy", "ndarray"),
      bytes([0x4b, 1, 0x85]),
      SB("C"),
      DT,
      [0x89],
      [0x4b, 0x10],
    );
    const state = bytes(
      [0x7d],
      MARK,
      SB("subclass"),
      G("numpy", "ndarray"),
      SB("shape"),
      [0x4b, 1, 0x85],
      SB("order"),
      SB("C"),
      SB("dtype"),
      DT,
      SB("allow_mmap"),
      [0x89, 0x75],
    );
    const { findings } = await verdictOf(
      bytes(op.proto(4), w, state, [0x62], new Uint8Array(8), [0x30], op.stop),
      "model.joblib",
    );
    expect(findings.some((x) => x.ruleId === "joblib/array-layout")).toBe(true);
  });
});

describe("large memos stay exact where it matters (false positives of the third round)", () => {
  const LONG_BINPUT = (i: number) => bytes([0x72, ...u32(i)]);

  it("a torch global memoised after 340,000 entries is kept (no escape, no critical finding)", async () => {
    const n = 340_000;
    const parts: Uint8Array[] = [
      bytes(op.proto(2), [0x5d], LONG_BINPUT(0), G("collections", "OrderedDict"), LONG_BINPUT(1), [0x30]),
    ];
    // LONG_BINGET 1, EMPTY_TUPLE, REDUCE, LONG_BINPUT i, APPEND: OrderedDict() memoised n times
    const body = new Uint8Array(n * 13);
    for (let i = 0; i < n; i++) body.set([0x6a, 1, 0, 0, 0, 0x29, 0x52, 0x72, ...u32(i + 2), 0x61], i * 13);
    parts.push(body);
    parts.push(
      LFB,
      LONG_BINPUT(n + 2),
      Uint8Array.from(MARK),
      bin(bytes(op.proto(2), [0x4e], op.stop)),
      Uint8Array.from(TUPLE_REDUCE),
      Uint8Array.from([0x61]),
      Uint8Array.from(op.stop),
    );
    const { verdict, findings } = await verdictOf(bytes(...parts));
    expect(findings.some((x) => x.evidence?.use === "escaped")).toBe(false);
    expect(verdict).toBe("clean");
  }, 30_000);

  it("a joblib array after 150,000 memoised tuples keeps its layout", async () => {
    const n = 150_000;
    const body = new Uint8Array(n * 9);
    for (let i = 0; i < n; i++) body.set([0x4b, 0, 0x85, 0x72, ...u32(i + 1), 0x61], i * 9);
    const DT = numpyDtype("f8");
    const state = bytes(
      [0x7d],
      LONG_BINPUT(n + 1),
      MARK,
      SB("subclass"),
      G("numpy", "ndarray"),
      SB("shape"),
      [0x4b, 4, 0x85],
      SB("order"),
      SB("C"),
      SB("dtype"),
      DT,
      SB("allow_mmap"),
      [0x89, 0x75],
    );
    const wrapper = bytes(
      G("joblib.numpy_pickle", "NumpyArrayWrapper"),
      [0x29, 0x81],
      state,
      [0x62],
      new Uint8Array(32),
      [0x61],
    );
    const data = bytes(op.proto(2), [0x5d], LONG_BINPUT(0), body, wrapper, op.stop);
    const { verdict } = await verdictOf(data, "model.joblib");
    expect(verdict).toBe("clean");
  }, 30_000);
});

describe("a memo past its detail budget", () => {
  it("a module name memoised past it is read: kept as text, not a name computed at run time", async () => {
    // a vocabulary of 140,000 memoised words, then 'numpy' memoised and fetched back for a
    // STACK_GLOBAL (a fitted CountVectorizer's shape): the memo keeps its text (memo-strs.ts; it
    // kept no value for it before, and the analysis stopped on its budget)
    const n = 140_000;
    const words = Buffer.concat(Array.from({ length: n }, (_, i) => bytes(SB(`w${i}`), [0x94])));
    const idx = n + 1; // the list is entry 0
    const data = bytes(
      op.proto(4),
      [0x5d, 0x94, 0x28],
      words,
      [0x65],
      SB("numpy"),
      [0x94, 0x30], // MEMOIZE, POP
      [0x6a, ...u32(idx)], // LONG_BINGET 'numpy'
      SB("dtype"),
      [0x93, 0x30], // STACK_GLOBAL, POP
      op.stop,
    );
    const { verdict, findings } = await verdictOf(data);
    expect(verdict).toBe("clean");
    expect(findings.some((x) => x.ruleId === "scan/budget-exceeded")).toBe(false);
    expect(findings.some((x) => x.ruleId === "pickle/dynamic-import")).toBe(false);
  }, 30_000);
});
