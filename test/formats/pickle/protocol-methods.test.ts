/**
 * Library methods the unpickler's own operations, or an allowed callable, run on an instance of an
 * allowlisted class (src/formats/pickle/protocol.ts, rule pickle/protocol-method): SETITEM(S) calls
 * the class's `__setitem__`, APPEND(S) its `extend`/`append` (through `__getattribute__`/
 * `__getattr__`), ADDITEMS its `add`; `list(x)`, `dict(x)` ... run `x.__iter__`, `keys` ... Builtin
 * and stdlib containers are not reported, nor are real pickles of the same classes
 * (samples/pickle-protocol, written by samples/generate/pickle_protocol.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MachineEvent } from "../../../src/formats/pickle/machine.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";
import { analyze, bytes, op } from "./helpers.js";

const DIR = join(SAMPLES, "pickle-protocol");
const read = (name: string) => new Uint8Array(readFileSync(join(DIR, name)));

type Part = Parameters<typeof bytes>[number];
const MARK = [0x28];
const EMPTY_TUPLE = [0x29];
const NEWOBJ = [0x81];
const EMPTY_DICT = [0x7d];
const SETITEM = [0x73];
const SETITEMS = [0x75];
const APPEND = [0x61];
const APPENDS = [0x65];
const ADDITEMS = [0x90];
const BUILD = [0x62];
const TUPLE = [0x74];
const TUPLE1 = [0x85];
const TUPLE3 = [0x87];
const REDUCE = [0x52];
const EMPTY_LIST = [0x5d];
const EMPTY_SET = [0x8f];
const NONE = [0x4e];
const INT1 = (n: number) => [0x4b, n];
const pickle = (...parts: Part[]) => bytes(op.proto(4), ...parts, op.stop);
/** `cls.__new__(cls)` on the stack. */
const allocated = (m: string, n: string) => bytes(op.global(m, n), EMPTY_TUPLE, NEWOBJ);
/** A LineSentence made by NEWOBJ whose state sets `source`. */
const lineSentence = bytes(
  allocated("gensim.models.word2vec", "LineSentence"),
  EMPTY_DICT,
  op.sbu("source"),
  op.sbu("/etc/hostname"),
  SETITEM,
  BUILD,
);
const DATAFRAME = () => allocated("pandas.core.frame", "DataFrame");

async function events(data: Uint8Array): Promise<MachineEvent[]> {
  const a = await analyze(data);
  return a.runs.flatMap((r) => r.machine.events.filter((e) => e.kind === "protocol-method"));
}

describe("unpickler operations on instances of library classes", () => {
  it("reports SETITEMS / SETITEM on a DataFrame (its __setitem__ calls a callable key)", async () => {
    const key = await events(pickle(DATAFRAME(), MARK, op.global("builtins", "type"), INT1(7), SETITEMS));
    expect(key).toHaveLength(1);
    expect(key[0]?.severity).toBe("high");
    expect(key[0]?.evidence.methods).toBe("pandas.core.frame.DataFrame.__setitem__");
    const plain = await events(pickle(DATAFRAME(), op.sbu("c"), INT1(1), SETITEM));
    expect(plain).toHaveLength(1);
    expect(plain[0]?.severity).toBeUndefined(); // the rule's medium
  });

  it("reports it on a DataFrame made by copyreg._reconstructor (protocols 0 and 1)", async () => {
    const made = bytes(
      op.global("copyreg", "_reconstructor"),
      op.global("pandas.core.frame", "DataFrame"),
      op.global("builtins", "object"),
      NONE,
      TUPLE3,
      REDUCE,
    );
    const ev = await events(pickle(made, op.sbu("c"), INT1(1), SETITEM));
    expect(ev.map((e) => e.evidence.class)).toEqual(["pandas.core.frame.DataFrame"]);
  });

  it("reports APPEND(S) through a library extend and ADDITEMS through a library add", async () => {
    const ml = allocated("torch.nn.modules.container", "ModuleList");
    expect((await events(pickle(ml, MARK, NONE, APPENDS)))[0]?.evidence.methods).toBe(
      "torch.nn.modules.container.ModuleList.extend",
    );
    expect(await events(pickle(ml, NONE, APPEND))).toHaveLength(1);
    const series = allocated("pandas.core.series", "Series");
    expect((await events(pickle(series, MARK, INT1(1), ADDITEMS)))[0]?.evidence.methods).toBe(
      "pandas.core.series.Series.add",
    );
    // a Bunch has no extend: the lookup falls back to Bunch.__getattr__, which returns an item
    const bunch = allocated("sklearn.utils._bunch", "Bunch");
    expect((await events(pickle(bunch, MARK, INT1(1), APPENDS)))[0]?.evidence.methods).toBe(
      "sklearn.utils._bunch.Bunch.__getattr__",
    );
  });

  it("does not report builtin and stdlib containers, or item assignment a dict subclass inherits", async () => {
    for (const [m, n] of [
      ["collections", "OrderedDict"],
      ["collections", "Counter"],
      ["collections", "defaultdict"],
      ["builtins", "dict"],
      ["sklearn.utils._bunch", "Bunch"],
      ["nltk.probability", "FreqDist"],
    ] as const) {
      expect(await events(pickle(allocated(m, n), MARK, op.sbu("k"), INT1(1), SETITEMS)), n).toEqual([]);
    }
    for (const [m, n] of [
      ["builtins", "list"],
      ["collections", "deque"],
    ] as const) {
      expect(await events(pickle(allocated(m, n), MARK, INT1(1), APPENDS)), n).toEqual([]);
    }
    expect(await events(pickle(allocated("builtins", "set"), MARK, INT1(1), ADDITEMS))).toEqual([]);
    expect(await events(pickle(EMPTY_LIST, MARK, INT1(1), APPENDS))).toEqual([]);
    expect(await events(pickle(EMPTY_SET, MARK, INT1(1), ADDITEMS))).toEqual([]);
  });
});

describe("dict keys and set items the unpickler hashes", () => {
  // ExtensionDtype.__hash__/__eq__ read getattr(self, name) for the names of self._metadata
  const dtype = (state: boolean) =>
    bytes(
      allocated("pandas.core.arrays.integer", "Int64Dtype"),
      state ? bytes(EMPTY_DICT, op.sbu("_metadata"), op.sbu("x"), TUPLE1, SETITEM, BUILD) : [],
    );

  it("reports a key whose class's __hash__ looks names up in a state the pickle wrote", async () => {
    const d = await events(pickle(EMPTY_DICT, dtype(true), INT1(1), SETITEM));
    expect(d.map((e) => e.evidence.class)).toEqual(["pandas.core.arrays.integer.Int64Dtype"]);
    expect(d[0]?.evidence.methods).toContain("pandas.core.dtypes.base.ExtensionDtype.__hash__");
    expect(await events(pickle(MARK, dtype(true), INT1(1), [0x64]))).toHaveLength(1); // DICT
    expect(await events(pickle(MARK, dtype(true), [0x91]))).toHaveLength(1); // FROZENSET
    expect(await events(pickle(EMPTY_SET, MARK, dtype(true), ADDITEMS))).toHaveLength(1);
  });

  it("does not report such a key made without state (its class's defaults)", async () => {
    expect(await events(pickle(EMPTY_DICT, dtype(false), INT1(1), SETITEM))).toEqual([]);
  });
});

describe("allowed callables handed an instance of a library class", () => {
  it("reports list(x) / tuple(x) of a LineSentence (its __iter__ opens self.source)", async () => {
    for (const name of ["list", "tuple", "set", "frozenset", "sorted"]) {
      const ev = await events(pickle(op.global("builtins", name), MARK, lineSentence, TUPLE, REDUCE));
      expect(ev, name).toHaveLength(1);
      expect(ev[0]?.severity, name).toBe("high");
      expect(ev[0]?.evidence.methods, name).toBe("gensim.models.word2vec.LineSentence.__iter__");
    }
  });

  it("follows copyreg._reconstructor, whose base.__init__ iterates the state", async () => {
    const data = pickle(
      op.global("copyreg", "_reconstructor"),
      op.global("collections", "OrderedDict"),
      op.global("builtins", "list"),
      lineSentence,
      TUPLE3,
      REDUCE,
    );
    const ev = await events(data);
    expect(ev.map((e) => e.evidence.caller)).toEqual(["builtins.list()"]);
  });

  it("does not report protocol methods the callable does not run, or items it does not touch", async () => {
    // len() runs __len__ only (LineSentence has none of its own); list([x]) iterates the list, not x
    expect(await events(pickle(op.global("builtins", "len"), MARK, lineSentence, TUPLE, REDUCE))).toEqual([]);
    expect(
      await events(pickle(op.global("builtins", "list"), MARK, EMPTY_LIST, lineSentence, APPEND, TUPLE, REDUCE)),
    ).toEqual([]);
    // builtins.slice stores its arguments
    expect(await events(pickle(op.global("builtins", "slice"), lineSentence, TUPLE1, REDUCE))).toEqual([]);
  });
});

describe("samples/pickle-protocol", () => {
  it.each([
    "df-setitem-callable-key.pkl",
    "df-setitem-column.pkl",
    "list-linesentence.pkl",
    "modulelist-appends.pkl",
    "bunch-appends-extend.pkl",
  ])("%s is reported", async (name) => {
    expect((await events(read(name))).length).toBeGreaterThan(0);
  });

  it.each([
    "df-benign.pkl",
    "series-benign.pkl",
    "containers-benign.pkl",
    "bunch-benign.pkl",
    "nltk-cfd-benign.pkl",
    "pandas-keys-benign.pkl",
    "dtype-keys-benign.pkl",
  ])("real %s runs only vetted methods", async (name) => {
    expect(await events(read(name))).toEqual([]);
  });

  it("a policy that allows LineSentence still gets list(LineSentence) reported", async () => {
    const data = read("list-linesentence.pkl");
    const file = await scanOne(data, "list-linesentence.pkl", {
      policy: {
        pickle: {
          customProfiles: [{ name: "corpora", new: ["gensim.models.word2vec.LineSentence"] }],
          extraProfiles: ["corpora"],
        },
      },
    });
    expect(file.findings.filter((f) => f.ruleId === "pickle/unknown-global")).toEqual([]);
    expect(file.findings.some((f) => f.ruleId === "pickle/protocol-method" && f.severity === "high")).toBe(true);
    expect(file.verdict).toBe("malicious");
  });
});
