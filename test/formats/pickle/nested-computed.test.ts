/**
 * Nested pickles whose bytes the outer pickle computes from allowlisted callables (`bytes` /
 * `bytearray` of a list of ints longer than the container cap, `bytes` of a rebuilt numpy array)
 * are evaluated and analysed like literal ones; a payload handed to a loader whose bytes cannot be
 * computed fails closed (high), since the loader runs whatever it is.
 */
import { describe, expect, it } from "vitest";
import type { PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { MAX_SEQ_OCTETS } from "../../../src/formats/pickle/values.js";
import { analyze, bytes, expectSameAnalyses, op } from "./helpers.js";

/** The inner pickle: `os.system('touch /tmp/x')`, as pickle.dumps protocol 2 writes it. */
const INNER = bytes(
  op.proto(2),
  op.global("posix", "system"),
  op.bu("touch /tmp/fix-pickle-nested/pwned-by-a-nested-pickle"),
  op.call1,
  [0x2e],
);

const ints = (b: Uint8Array): number[] => [...b].flatMap((x) => [0x4b, x]);
const loader = op.sglobal("torch.storage", "_load_from_bytes");

/** `_load_from_bytes(ctor(seq))`, with the sequence's opcodes given. */
function viaSeq(ctor: "bytes" | "bytearray", seq: Uint8Array): Uint8Array {
  return bytes(op.proto(4), loader, op.sglobal("builtins", ctor), seq, op.call1, op.call1, [0x2e]);
}

function critical(a: PickleAnalysis): boolean {
  return a.findings.some(
    (f) => f.ruleId === "pickle/dangerous-global" && f.severity === "critical" && f.evidence?.nested !== undefined,
  );
}

/** Severity of the finding about a payload handed to a loader that could not be computed. */
function nestedSeverity(a: PickleAnalysis): string | undefined {
  return a.findings.find((f) => f.ruleId === "pickle/nested-payload" && f.severity !== "info")?.severity;
}

describe("nested pickles computed from lists of ints past the container cap", () => {
  it("bytes(list) built by APPENDS is analysed (os.system found)", async () => {
    const a = await analyze(viaSeq("bytes", bytes([0x5d, 0x28], ints(INNER), [0x65])));
    expect(INNER.length).toBeGreaterThan(64);
    expect(critical(a)).toBe(true);
  });

  it("bytearray(list) is analysed", async () => {
    const a = await analyze(viaSeq("bytearray", bytes([0x5d, 0x28], ints(INNER), [0x65])));
    expect(critical(a)).toBe(true);
  });

  it("a list built by APPEND one item at a time, with memo puts, is analysed", async () => {
    const items = [...INNER].flatMap((x, i) => [0x4b, x, 0x71, (i + 1) & 0xff, 0x61]);
    const a = await analyze(viaSeq("bytes", bytes([0x5d, 0x71, 0], items)));
    expect(critical(a)).toBe(true);
  });

  it("lists in batches (APPENDS after the cap is reached) are analysed", async () => {
    const all = ints(INNER);
    const seq = bytes([0x5d, 0x28], all.slice(0, 128), [0x65, 0x28], all.slice(128), [0x65]);
    const a = await analyze(viaSeq("bytes", seq));
    expect(critical(a)).toBe(true);
  });

  it("a tuple (MARK ... TUPLE) and a protocol-0/1 LIST are analysed", async () => {
    const tuple = await analyze(viaSeq("bytes", bytes([0x28], ints(INNER), [0x74])));
    const list = await analyze(viaSeq("bytes", bytes([0x28], ints(INNER), [0x6c])));
    expect(critical(tuple)).toBe(true);
    expect(critical(list)).toBe(true);
  });

  it("a list memoised, filled, then read back with BINGET is analysed as filled", async () => {
    const data = bytes(
      op.proto(4),
      [0x5d, 0x71, 0, 0x28],
      ints(INNER),
      [0x65, 0x30],
      loader,
      op.sglobal("builtins", "bytes"),
      [0x68, 0],
      op.call1,
      op.call1,
      [0x2e],
    );
    expect(critical(await analyze(data))).toBe(true);
  });

  it("a list changed after bytes() was taken is not mistaken for the payload", async () => {
    // bytes(L) copies L: items appended later are not in the payload
    const data = bytes(
      op.proto(4),
      loader,
      op.sglobal("builtins", "bytes"),
      [0x5d, 0x71, 0, 0x28],
      ints(INNER),
      [0x65],
      op.call1,
      [0x68, 0, 0x4b, 1, 0x61, 0x30],
      op.call1,
      [0x2e],
    );
    const a = await analyze(data);
    expect(critical(a)).toBe(true);
    expect(a.findings.find((f) => f.ruleId === "pickle/nested-payload")?.message).toContain(`(${INNER.length} bytes)`);
  });

  it("the fast path and the machine alone agree on long int lists", async () => {
    await expectSameAnalyses(viaSeq("bytes", bytes([0x5d, 0x28], ints(INNER), [0x65, 0x28], ints(INNER), [0x65])), {
      context: "pickle",
    } as never);
  });

  it("an int list handed to no sink stays clean", async () => {
    const data = bytes(op.proto(4), [0x5d, 0x28], ints(new Uint8Array(300).fill(7)), [0x65, 0x2e]);
    const a = await analyze(data);
    expect(a.findings).toEqual([]);
  });
});

describe("nested pickles computed from a rebuilt numpy array", () => {
  /** `_load_from_bytes(bytes(_reconstruct(ndarray, (0,), b'b') + BUILD state))` as numpy writes it. */
  function ndarrayPickle(rawLen: number, fortran = false): Uint8Array {
    const raw = INNER.subarray(0, rawLen);
    const dtype = bytes(
      op.global("numpy", "dtype"),
      op.bu("u1"),
      [0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 3],
      op.bu("|"),
      [0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0, 0x74, 0x62],
    );
    return bytes(
      op.proto(4),
      loader,
      op.sglobal("builtins", "bytes"),
      op.global("numpy.core.multiarray", "_reconstruct"),
      op.global("numpy", "ndarray"),
      [0x4b, 0, 0x85],
      op.bb(new Uint8Array([0x62])),
      [0x87, 0x52],
      [0x28, 0x4b, 1, 0x4b, INNER.length, 0x85],
      dtype,
      [fortran ? 0x88 : 0x89],
      // raw data as numpy writes it under protocol 2: _codecs.encode(latin-1 text, 'latin1')
      op.global("_codecs", "encode"),
      op.bu(Buffer.from(raw).toString("latin1")),
      op.bu("latin1"),
      [0x86, 0x52],
      [0x74, 0x62],
      op.call1,
      op.call1,
      [0x2e],
    );
  }

  it("bytes(ndarray) of a C-order uint8 array is analysed", async () => {
    const a = await analyze(ndarrayPickle(INNER.length));
    expect(critical(a)).toBe(true);
  });

  it("raw data of the wrong size is not guessed: fails closed (high)", async () => {
    const a = await analyze(ndarrayPickle(INNER.length - 1));
    expect(nestedSeverity(a)).toBe("high");
  });
});

describe("payloads handed to loaders that cannot be computed fail closed", () => {
  it("bytes(list) with an item that is not a literal int is high, not medium", async () => {
    const seq = bytes([0x5d, 0x28], ints(INNER.subarray(0, 10)), op.global("builtins", "len"), [0x29, 0x52, 0x65]);
    const a = await analyze(viaSeq("bytes", seq));
    expect(nestedSeverity(a)).toBe("high");
    expect(a.findings.find((f) => f.ruleId === "pickle/nested-payload")?.evidence?.computed).toBe(true);
  });

  it("an int list past the tracking budget is high", async () => {
    // a list longer than the tracking budget is not tracked
    const n = MAX_SEQ_OCTETS + 10;
    const body = new Uint8Array(n * 2);
    for (let i = 0; i < n; i++) body[2 * i] = 0x4b;
    const a = await analyze(viaSeq("bytes", bytes([0x5d, 0x28], body, [0x65])));
    expect(nestedSeverity(a)).toBe("high");
  });

  it("marshal.loads of computed bytes is high", async () => {
    const data = bytes(
      op.proto(4),
      op.sglobal("marshal", "loads"),
      op.sglobal("builtins", "bytes"),
      [0x5d, 0x28],
      op.global("builtins", "len"),
      [0x29, 0x52, 0x65],
      op.call1,
      op.call1,
      [0x2e],
    );
    const a = await analyze(data);
    expect(nestedSeverity(a)).toBe("high");
  });
});

describe("other byte constructions", () => {
  it("operator.add of two bytes is analysed; str.__add__ of bytes (a TypeError) is not", async () => {
    const half = 1; // neither part looks like a pickle of its own
    const concat = (m: string, n: string) =>
      bytes(
        op.proto(4),
        loader,
        op.sglobal(m, n),
        op.bb(INNER.subarray(0, half)),
        op.bb(INNER.subarray(half)),
        [0x86, 0x52],
        op.call1,
        [0x2e],
      );
    expect(critical(await analyze(concat("_operator", "add")))).toBe(true);
    const str = await analyze(concat("builtins", "str.__add__"));
    expect(critical(str)).toBe(false);
    expect(nestedSeverity(str)).toBe("high");
  });

  it("bytes.fromhex of text is analysed", async () => {
    const data = bytes(
      op.proto(4),
      loader,
      op.sglobal("builtins", "bytes.fromhex"),
      op.bu(Buffer.from(INNER).toString("hex")),
      op.call1,
      op.call1,
      [0x2e],
    );
    expect(critical(await analyze(data))).toBe(true);
  });
});

describe("a literal payload larger than the in-memory budget", () => {
  it("is analysed from the input (torch.storage._load_from_bytes of 65 MiB)", async () => {
    // inner: BINBYTES8 of 65 MiB (popped), then os.system(...)
    const pad = 65 << 20;
    const len8 = [pad & 0xff, (pad >>> 8) & 0xff, (pad >>> 16) & 0xff, pad >>> 24, 0, 0, 0, 0];
    const innerLen = 2 + 9 + pad + 1 + (INNER.length - 2);
    const big = new Uint8Array(pad + 4096);
    let at = 0;
    const put = (b: ArrayLike<number>) => {
      big.set(b, at);
      at += b.length;
    };
    put(op.proto(4));
    put(loader);
    put([0x8e, innerLen & 0xff, (innerLen >>> 8) & 0xff, (innerLen >>> 16) & 0xff, innerLen >>> 24, 0, 0, 0, 0]);
    put([0x80, 2, 0x8e, ...len8]);
    at += pad;
    put([0x30]);
    put(INNER.subarray(2));
    put([...op.call1, 0x2e]);
    const a = await analyze(big.subarray(0, at), { context: "pytorch" });
    expect(critical(a)).toBe(true);
  }, 60_000);
});
