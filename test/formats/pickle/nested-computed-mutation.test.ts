/**
 * Values changed in ways the pickle machine does not model (item assignment on a list, a bytearray
 * or a numpy array, APPEND(S) on a bytearray, a second BUILD, a change through an alias the machine
 * lost sight of) are not read as they were built: `bytes(x)` of them is unknown, so a loader handed
 * it fails closed (high) instead of analysing stale bytes (clean). Also: numpy's byte swap of
 * big-endian arrays, the per-pickle budget of computed bytes, and bytes pickled by protocols 0-2
 * (`_codecs.encode(<str>, 'latin1')`) too large to hold, analysed from the input.
 */
import { describe, expect, it } from "vitest";
import type { PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { MAX_COMPUTED_BYTES } from "../../../src/formats/pickle/pymodel.js";
import { MAX_SEQ_OCTETS } from "../../../src/formats/pickle/values.js";
import { analyze, bytes, op } from "./helpers.js";

/** The inner pickle: `os.system('touch ...')`, as pickle.dumps protocol 2 writes it. */
const INNER = bytes(
  op.proto(2),
  op.global("posix", "system"),
  op.bu("touch /tmp/fix-pickle-nested2/pwned-by-a-nested-pickle"),
  op.call1,
  [0x2e],
);

/** A harmless pickle of INNER's length: `'AAA...'`. */
const BENIGN = bytes(op.proto(2), op.bu("A".repeat(INNER.length - 8)), [0x2e]);

/** An int opcode for n (BININT1 or BININT2). */
const int = (n: number): number[] => (n < 256 ? [0x4b, n] : [0x4d, n & 0xff, n >> 8]);
const ints = (b: Uint8Array): number[] => [...b].flatMap((x) => int(x));
/** MARK, (i, b[i]) pairs, SETITEMS: `x[i] = b[i]` for each i. */
const setitems = (b: Uint8Array): number[] => [0x28, ...[...b].flatMap((x, i) => [...int(i), ...int(x)]), 0x75];
const loader = op.sglobal("torch.storage", "_load_from_bytes");

/** `_load_from_bytes(bytes(L))` where the list L holds `items` as ints and `changes` then run on it. */
const loadBytesOfList = (items: Uint8Array, ...changes: Array<number[] | Uint8Array>): Uint8Array =>
  bytes(
    op.proto(2),
    loader,
    op.global("builtins", "bytes"),
    [0x5d, 0x28],
    ints(items),
    [0x65],
    ...changes,
    op.call1,
    op.call1,
    [0x2e],
  );

function critical(a: PickleAnalysis): boolean {
  return a.findings.some(
    (f) => f.ruleId === "pickle/dangerous-global" && f.severity === "critical" && f.evidence?.nested !== undefined,
  );
}

/** The finding about a payload handed to a loader that could not be computed. */
function computed(a: PickleAnalysis) {
  return a.findings.find((f) => f.ruleId === "pickle/nested-payload" && f.evidence?.computed === true);
}

/** Fails closed: the payload is reported as not computed (high), and the pickle is not malformed. */
function expectFailsClosed(a: PickleAnalysis): void {
  expect(computed(a)?.severity).toBe("high");
  expect(a.invalid).toBe(false);
}

describe("item assignment and other changes the machine does not model", () => {
  it("SETITEMS on a list before bytes(list) (the list held BENIGN): fails closed", async () => {
    const data = loadBytesOfList(BENIGN, setitems(INNER));
    expectFailsClosed(await analyze(data));
  });

  it("SETITEMS on a list past the container cap: fails closed", async () => {
    const pad = new Uint8Array(3000).fill(0x41);
    pad.set(BENIGN);
    const data = loadBytesOfList(pad, setitems(INNER));
    expectFailsClosed(await analyze(data));
  });

  it("slice assignment (SETITEM with a builtins.slice key): fails closed", async () => {
    const data = loadBytesOfList(
      BENIGN,
      op.global("builtins", "slice"),
      [0x4b, 0],
      int(INNER.length),
      [0x86, 0x52, 0x5d, 0x28],
      ints(INNER),
      [0x65, 0x73],
    );
    expectFailsClosed(await analyze(data));
  });

  it("SETITEMS on a bytearray handed to the loader: fails closed, not malformed", async () => {
    const data = bytes(
      op.proto(3),
      loader,
      op.global("builtins", "bytearray"),
      [0x43, BENIGN.length],
      BENIGN,
      op.call1,
      setitems(INNER),
      op.call1,
      [0x2e],
    );
    const a = await analyze(data);
    expectFailsClosed(a);
    expect(a.findings.some((f) => f.ruleId === "pickle/malformed")).toBe(false);
  });

  it("APPENDS on a bytearray (bytearray.extend), then bytes(): fails closed, not malformed", async () => {
    const data = bytes(
      op.proto(3),
      loader,
      op.global("builtins", "bytes"),
      op.global("builtins", "bytearray"),
      [0x43, 2],
      INNER.subarray(0, 2),
      op.call1,
      [0x28],
      ints(INNER.subarray(2)),
      [0x65],
      op.call1,
      op.call1,
      [0x2e],
    );
    expectFailsClosed(await analyze(data));
  });

  it("a list dropped past another's cap and changed through an alias (operator.getitem): fails closed", async () => {
    // L = BENIGN as ints (memo 0); M = [0]*64 + [L]; operator.getitem(M, 64)[i] = INNER[i]; bytes(L)
    const data = bytes(
      op.proto(2),
      loader,
      op.global("builtins", "bytes"),
      [0x5d, 0x71, 0, 0x28],
      ints(BENIGN),
      [0x65, 0x30],
      op.global("_operator", "getitem"),
      [0x5d, 0x28],
      new Array(64).fill([0x4b, 0]).flat(),
      [0x68, 0, 0x65],
      [0x4b, 64, 0x86, 0x52],
      setitems(INNER),
      [0x30, 0x68, 0],
      op.call1,
      op.call1,
      [0x2e],
    );
    expectFailsClosed(await analyze(data));
  });
});

describe("bytes(ndarray)", () => {
  /** numpy.dtype(kind, False, True) with BUILD state (3, order, None, None, None, -1, -1, 0). */
  const dtype = (kind: string, order: string) =>
    bytes(
      op.global("numpy", "dtype"),
      op.bu(kind),
      [0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 3],
      op.bu(order),
      [0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0, 0x74, 0x62],
    );
  /** `_reconstruct(ndarray, (0,), b'b')` + BUILD (1, (n,), dtype, False, raw), then `after`. */
  const array = (raw: Uint8Array, kind: string, order: string, itemsize: number, after: number[] = []) =>
    bytes(
      op.global("numpy.core.multiarray", "_reconstruct"),
      op.global("numpy", "ndarray"),
      [0x4b, 0, 0x85, 0x43, 1, 0x62, 0x87, 0x52],
      [0x28, 0x4b, 1],
      int(raw.length / itemsize),
      [0x85],
      dtype(kind, order),
      [0x89, 0x42, ...[raw.length & 0xff, raw.length >> 8, 0, 0]],
      raw,
      [0x74, 0x62],
      after,
    );
  const handed = (arr: Uint8Array) =>
    bytes(op.proto(3), loader, op.global("builtins", "bytes"), arr, op.call1, op.call1, [0x2e]);
  const even = (b: Uint8Array) => (b.length % 2 === 0 ? b : bytes(b, [0x2e]));
  const swap2 = (b: Uint8Array) => Uint8Array.from(b, (_, i) => b[i ^ 1] as number);

  it("SETITEMS on the array before bytes(array): fails closed", async () => {
    expectFailsClosed(await analyze(handed(array(BENIGN, "u1", "|", 1, setitems(INNER)))));
  });

  it("a second BUILD on the array: fails closed", async () => {
    const second = bytes([0x28, 0x4b, 1, ...int(BENIGN.length), 0x85], dtype("u1", "|"), [0x89, 0x43, BENIGN.length]);
    const data = handed(array(INNER, "u1", "|", 1, [...second, ...BENIGN, 0x74, 0x62]));
    expectFailsClosed(await analyze(data));
  });

  it("a big-endian array ('>u2') is byte-swapped as numpy swaps it when unpickling", async () => {
    const payload = even(INNER);
    const a = await analyze(handed(array(swap2(payload), "u2", ">", 2)));
    expect(critical(a)).toBe(true);
    // the same bytes little-endian are what the loader reads unswapped
    expect(critical(await analyze(handed(array(payload, "u2", "<", 2))))).toBe(true);
  });

  it("a big-endian array whose unswapped bytes are a harmless pickle is not clean", async () => {
    const a = await analyze(handed(array(swap2(even(INNER)), "u2", ">", 2)));
    expect(a.findings.some((f) => f.severity === "critical")).toBe(true);
  });

  it("a big-endian complex array ('>c8') swaps each 4-byte half, as numpy does", async () => {
    const payload = bytes(INNER, new Uint8Array((8 - (INNER.length % 8)) % 8).fill(0x2e));
    const swap4 = Uint8Array.from(payload, (_, i) => payload[(i & ~3) + 3 - (i & 3)] as number);
    expect(critical(await analyze(handed(array(swap4, "c8", ">", 8))))).toBe(true);
  });

  it("a big-endian kind whose swap is not modelled (f16) fails closed", async () => {
    const raw = new Uint8Array(32);
    expectFailsClosed(await analyze(handed(array(raw, "f16", ">", 16))));
  });
});

describe("computed bytes are budgeted per pickle", () => {
  it(`bytes(L) of one long list taken again and again stops past ${MAX_COMPUTED_BYTES} bytes: fails closed`, async () => {
    // L: INNER then zeros, MAX_SEQ_OCTETS items (memo 0); bytes(L) called until the budget is spent
    const n = MAX_SEQ_OCTETS;
    const items = new Uint8Array(n * 2);
    for (let i = 0; i < n; i++) items[2 * i] = 0x4b;
    for (let i = 0; i < INNER.length; i++) items[2 * i + 1] = INNER[i] as number;
    const reps = Math.ceil(MAX_COMPUTED_BYTES / n) + 1;
    const call = [0x68, 1, 0x68, 0, 0x85, 0x52, 0x30];
    const data = bytes(
      op.proto(2),
      op.global("builtins", "bytes"),
      [0x71, 1, 0x30, 0x5d, 0x71, 0, 0x28],
      items,
      [0x65, 0x30],
      new Array(reps).fill(call).flat(),
      loader,
      [0x68, 1, 0x68, 0, 0x85, 0x52],
      op.call1,
      [0x2e],
    );
    const a = await analyze(data);
    expectFailsClosed(a);
    expect(critical(a)).toBe(false);
  }, 60_000);
});

describe("bytes pickled by protocols 0-2 too large to hold (_codecs.encode(str, 'latin1'))", () => {
  /** `_load_from_bytes(_codecs.encode(<latin-1 text of inner + padding>, 'latin1'))` past 64 MiB. */
  function bigLatin1(inner: Uint8Array): Uint8Array {
    const text = Buffer.from(bytes(inner, new Uint8Array((65 << 20) - inner.length))).toString("latin1");
    const utf8 = Buffer.from(text, "utf8");
    const n = utf8.length;
    return bytes(
      op.proto(2),
      loader,
      op.global("_codecs", "encode"),
      [0x58, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24],
      utf8,
      op.bu("latin1"),
      [0x86, 0x52],
      op.call1,
      [0x2e],
    );
  }

  it("a pickle in it is analysed from the input (not reported as computed)", async () => {
    const a = await analyze(bigLatin1(INNER), { context: "pytorch" });
    expect(critical(a)).toBe(true);
    expect(computed(a)).toBeUndefined();
  }, 120_000);

  it("a harmless payload (a zip, as torch.save writes) is not high", async () => {
    const zip = bytes([0x50, 0x4b, 3, 4], new Uint8Array(60));
    const a = await analyze(bigLatin1(zip), { context: "pytorch" });
    expect(computed(a)).toBeUndefined();
    expect(a.findings.some((f) => f.severity === "high" || f.severity === "critical")).toBe(false);
  }, 120_000);
});
