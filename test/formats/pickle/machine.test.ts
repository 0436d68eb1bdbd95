import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { strOf } from "../../../src/formats/pickle/values.js";
import { analyze, bytes, callees, op, rules } from "./helpers.js";

const P2 = op.proto(2);
const P4 = op.proto(4);
const SYSTEM_CALL = (payload = "echo hi") => bytes(op.bu(payload), op.call1);

describe("stack, marks and memo (as _pickle.c)", () => {
  it("POP removes the topmost mark when nothing is above it; STOP under a mark underflows", async () => {
    expect((await analyze(bytes("N(0."))).runs[0]?.machine.result).toBeNull();
    const underflow = await analyze(bytes("N(."));
    expect(rules(underflow)).toEqual(["pickle/malformed"]);
    expect(underflow.findings[0]?.message).toMatch(/unexpected MARK/);
  });

  it("MEMOIZE stores at the number of distinct memo entries", async () => {
    // BINPUT 0, BINPUT 5, then MEMOIZE must use index 2
    const a = await analyze(
      bytes(P4, op.sbu("a"), [0x71, 0], op.sbu("b"), [0x71, 5], op.sbu("c"), [0x94, 0x30, 0x30, 0x30, 0x68, 2, 0x2e]),
    );
    expect(a.invalid).toBe(false);
    expect(strOf(a.runs[0]?.machine.result)).toBe("c");
  });

  it("GET of a missing index, a negative PUT and a stray POP_MARK are errors", async () => {
    expect(rules(await analyze(bytes("g3\n.")))).toEqual(["pickle/malformed"]);
    expect((await analyze(bytes("Np-1\n."))).findings[0]?.message).toMatch(/negative PUT/);
    expect((await analyze(bytes("1N."))).findings[0]?.message).toMatch(/could not find MARK/);
  });

  it("parses INT/LONG lines the way the C unpickler does", async () => {
    const r = async (s: string) => (await analyze(bytes(s))).runs[0]?.machine.result;
    expect(await r("I01\n.")).toBe(true);
    expect(await r("I00\n.")).toBe(false);
    expect(await r("I010\n.")).toBe(8); // strtol base 0: octal
    expect(await r("I0x10\n.")).toBe(16);
    expect(await r("L123L\n.")).toBe(123);
    expect(await r("L100000000000000000000\n.")).toBe(100000000000000000000n);
    expect(await r("\x8a\x02\xff\x7f.")).toBe(0x7fff);
    expect(await r("\x8a\x01\xff.")).toBe(-1);
  });

  it("rejects what CPython rejects: non-str STACK_GLOBAL operands, NEXT_BUFFER, EXT 0, non-ASCII INST", async () => {
    expect((await analyze(bytes(P4, [0x43, 2], "os", op.sbu("system"), [0x93, 0x2e]))).findings[0]?.message).toMatch(
      /requires str/,
    );
    expect((await analyze(bytes(P4, [0x97, 0x2e]))).findings[0]?.message).toMatch(/out-of-band/);
    expect((await analyze(bytes(P2, [0x82, 0], "."))).findings[0]?.message).toMatch(/code <= 0/);
    expect((await analyze(bytes("(i\xe9\nx\n."))).findings[0]?.message).toMatch(/not ASCII/);
  });

  it("enforces stack, mark and memo budgets", async () => {
    const stack = await analyze(bytes("N".repeat(200), "."), { machine: { maxStack: 100 } });
    expect(stack.findings.map((f) => f.evidence?.budget)).toContain("maxStack");
    const marks = await analyze(bytes("(".repeat(200), "N."), { machine: { maxMarks: 100 } });
    expect(marks.findings.map((f) => f.evidence?.budget)).toContain("maxMarks");
    const memo = await analyze(
      bytes(P4, "N", "\x94".repeat(1), ...Array.from({ length: 50 }, (_, i) => bytes([0x72, i, 1, 0, 0])), "."),
      {
        machine: { maxMemo: 10 },
      },
    );
    expect(memo.findings.map((f) => f.evidence?.budget)).toContain("maxMemo");
    expect(memo.invalid).toBe(true);
  });
});

describe("globals and what is called", () => {
  it("applies _compat_pickle renames only below protocol 3, and checks the old names anyway", async () => {
    const p2 = await analyze(bytes(P2, op.global("__builtin__", "eval"), SYSTEM_CALL(), op.stop));
    expect(callees(p2)).toEqual(["builtins.eval"]);
    expect(p2.findings[0]?.evidence?.rawName).toBe("__builtin__.eval");
    const p3 = await analyze(bytes(op.proto(3), op.global("__builtin__", "eval"), SYSTEM_CALL(), op.stop));
    expect(callees(p3)).toEqual(["__builtin__.eval"]);
    expect(p3.findings[0]?.ruleId).toBe("pickle/dangerous-global");
    const mapped = await analyze(
      bytes(
        P2,
        op.global("copy_reg", "_reconstructor"),
        op.global("collections", "OrderedDict"),
        op.global("__builtin__", "object"),
        "N\x87R.",
      ),
    );
    expect(mapped.findings).toEqual([]);
  });

  it("resolves dotted names component by component, noting CPython's protocol-4 rule", async () => {
    const a = await analyze(bytes(P4, op.sglobal("logging", "os.system"), SYSTEM_CALL(), op.stop));
    expect(callees(a)).toEqual(["logging.os.system"]);
    expect(a.findings[0]?.severity).toBe("critical");
    const below = await analyze(bytes(P2, op.global("logging", "os.system"), SYSTEM_CALL(), op.stop));
    expect(below.findings[0]?.evidence?.note).toMatch(/protocol 4/);
  });

  it("follows getattr/__import__ chains to the real callee", async () => {
    const a = await analyze(
      bytes(
        P2,
        op.global("builtins", "getattr"),
        op.global("builtins", "__import__"),
        op.bu("os"),
        op.call1,
        op.bu("system"),
        [0x86, 0x52],
        SYSTEM_CALL(),
        op.stop,
      ),
    );
    expect(callees(a)).toContain("os.system");
    const call = a.findings.find((f) => f.evidence?.callee === "os.system");
    expect(call?.evidence?.args).toBe("'echo hi'");
    expect(call?.evidence?.via).toBe("builtins.getattr");
  });

  it("sees through resolvers that reach allowlisted names (nested classes at protocol 2)", async () => {
    // what pickle writes for Outer.Inner below protocol 4: getattr(mypkg.Outer, 'Inner')
    const stream = bytes(
      P2,
      op.global("builtins", "getattr"),
      op.global("mypkg", "Outer"),
      op.bu("Inner"),
      [0x86, 0x52, 0x29, 0x81, 0x2e],
    );
    expect((await analyze(stream, { policy: { allow: ["mypkg.Outer.Inner"] } })).findings).toEqual([]);
    const denied = await analyze(stream);
    expect(rules(denied)).toEqual(["pickle/dangerous-global", "pickle/unknown-global"]);
  });

  it("computes names from literal string operations, and flags ones it cannot compute", async () => {
    const join = bytes(
      P4,
      op.sglobal("builtins", "str.join"),
      op.sbu(""),
      "](",
      op.sbu("o"),
      op.sbu("s"),
      "e",
      [0x86, 0x52],
      op.sbu("system"),
      [0x93],
      SYSTEM_CALL(),
      op.stop,
    );
    expect(callees(await analyze(join))).toContain("os.system");
    const lower = bytes(
      P4,
      op.sglobal("builtins", "str.lower"),
      op.sbu("OS"),
      op.call1,
      op.sbu("system"),
      [0x93],
      SYSTEM_CALL(),
      op.stop,
    );
    expect(rules(await analyze(lower))).toEqual([
      "pickle/dynamic-call",
      "pickle/dynamic-import",
      "pickle/unknown-global",
    ]);
  });

  it("treats memo entries past the detail budget as unknown (fail closed)", async () => {
    const junk = Array.from({ length: 20 }, (_, i) => bytes(op.sbu(`j${i}`), [0x94, 0x30]));
    const stream = bytes(
      P4,
      ...junk,
      op.sbu("os"),
      [0x94],
      op.sbu("system"),
      [0x94, 0x30, 0x30, 0x68, 20, 0x68, 21, 0x93],
      SYSTEM_CALL(),
      op.stop,
    );
    expect(callees(await analyze(stream))).toContain("os.system");
    // past the detail budget the memo keeps strs as text (memo-strs.ts): still resolved
    expect(callees(await analyze(stream, { machine: { memoDetailCap: 4 } }))).toContain("os.system");
    // with no room for that text either, the names are literals the memo did not keep: the
    // analysis stops on its budget (not a name computed at run time)
    const small = await analyze(stream, { machine: { memoDetailCap: 4, memoStrBytes: 0 } });
    expect(rules(small)).toContain("scan/budget-exceeded");
    expect(callees(small)).not.toContain("os.system");
  });

  it("registers copyreg extensions the stream adds and resolves EXT through them", async () => {
    const reg = bytes(
      P2,
      op.global("copyreg", "add_extension"),
      op.bu("os"),
      op.bu("system"),
      [0x4b, 0xf0, 0x87, 0x52, 0x30, 0x82, 0xf0],
      SYSTEM_CALL(),
      op.stop,
    );
    const a = await analyze(reg);
    expect(callees(a)).toEqual(expect.arrayContaining(["copyreg.add_extension", "os.system"]));
    const unreg = await analyze(bytes(P2, [0x82, 0xf0], SYSTEM_CALL(), op.stop));
    expect(rules(unreg)).toEqual(["pickle/dynamic-call", "pickle/ext-unregistered"]);
  });

  it("records monkey-patches and reads planted values back", async () => {
    const stream = bytes(
      P4,
      op.sglobal("argparse", "Namespace"),
      "N}(",
      op.sbu("a"),
      op.sbu("os"),
      op.sbu("b"),
      op.sbu("system"),
      "u",
      [0x86, 0x62, 0x30],
      op.sglobal("argparse", "Namespace.a"),
      op.sglobal("argparse", "Namespace.b"),
      [0x93],
      SYSTEM_CALL(),
      op.stop,
    );
    const a = await analyze(stream);
    expect(rules(a)).toEqual(["pickle/dangerous-global", "pickle/monkeypatch"]);
    expect(callees(a)).toContain("os.system");
  });

  it("models instance hooks planted by BUILD (__setstate__, extend)", async () => {
    const base = bytes(P4, op.sglobal("argparse", "Namespace"), [0x29, 0x81], "N}");
    const setstate = await analyze(
      bytes(base, op.sbu("__setstate__"), op.sglobal("os", "system"), "s", [0x86, 0x62], op.bu("echo"), "b."),
    );
    expect(setstate.findings.find((f) => f.evidence?.callee === "os.system")?.evidence?.opcode).toBe("BUILD");
    const extend = await analyze(
      bytes(base, op.sbu("extend"), op.sglobal("os", "system"), "s", [0x86, 0x62], "(", op.bu("echo"), "e."),
    );
    expect(extend.findings.find((f) => f.evidence?.callee === "os.system")?.evidence?.opcode).toBe("APPENDS");
  });

  it("distinguishes instantiation from calls for 'new'-only profile entries", async () => {
    const newobj = bytes(P2, op.global("torch.nn.modules.linear", "Linear"), [0x29, 0x81, 0x2e]);
    expect((await analyze(newobj)).findings).toEqual([]);
    const called = await analyze(bytes(P2, op.global("torch.nn.modules.linear", "Linear"), "K\x04K\x04\x86R."));
    expect(called.findings[0]?.message).toMatch(/only to be instantiated/);
  });

  it("checks PyTorch persistent ids in PyTorch contexts", async () => {
    const good = bytes(
      P2,
      "(",
      op.bu("storage"),
      op.global("torch", "FloatStorage"),
      op.bu("0"),
      op.bu("cpu"),
      "K\x04tQ.",
    );
    expect((await analyze(good, { context: "pytorch" })).findings).toEqual([]);
    expect(rules(await analyze(good))).toEqual(["pickle/persistent-id"]);
    const bad = bytes(P2, "(", op.bu("exec"), op.bu("x"), "tQ.");
    expect(rules(await analyze(bad, { context: "pytorch" }))).toEqual(["pickle/persistent-id"]);
  });

  it("calls through copyreg._reconstructor's base class and functools.partial", async () => {
    const recon = await analyze(
      bytes(
        P2,
        op.global("copyreg", "_reconstructor"),
        op.global("subprocess", "Popen"),
        op.global("subprocess", "Popen"),
        "](",
        op.bu("echo"),
        "e\x87R.",
      ),
    );
    const popen = recon.findings.find((f) => f.evidence?.callee === "subprocess.Popen");
    expect(popen?.evidence?.use).toBe("call");
    const partial = await analyze(
      bytes(P2, op.global("functools", "partial"), op.global("os", "system"), op.bu("echo"), "\x86R)R."),
    );
    expect(partial.findings.find((f) => f.evidence?.callee === "os.system")?.evidence?.via).toBe("functools.partial");
  });
});

describe("nested payloads", () => {
  const inner = bytes(P4, op.sglobal("os", "system"), SYSTEM_CALL(), op.stop);

  it("analyses bytes handed to pickle.loads, also through base64 and zlib", async () => {
    const direct = await analyze(bytes(P4, op.sglobal("pickle", "loads"), op.bb(inner), op.call1, op.stop));
    const nested = direct.findings.find((f) => f.evidence?.callee === "os.system");
    expect(nested?.evidence?.nested).toMatch(/^pickle\.loads@/);
    const b64 = await analyze(
      bytes(
        P4,
        op.sglobal("pickle", "loads"),
        op.sglobal("base64", "b64decode"),
        op.bu(Buffer.from(inner).toString("base64")),
        op.call1,
        op.call1,
        op.stop,
      ),
    );
    expect(callees(b64)).toContain("os.system");
    const z = await analyze(
      bytes(
        P4,
        op.sglobal("pickle", "loads"),
        op.sglobal("zlib", "decompress"),
        op.bb(deflateSync(inner)),
        op.call1,
        op.call1,
        op.stop,
      ),
    );
    expect(callees(z)).toContain("os.system");
  });

  it("reports code strings and what they call", async () => {
    const a = await analyze(
      bytes(P4, op.sglobal("builtins", "exec"), op.bu("import subprocess as sp\nsp.run(['id'])"), op.call1, op.stop),
    );
    expect(callees(a)).toEqual(expect.arrayContaining(["builtins.exec", "subprocess.run"]));
  });

  it("reports literal pickles that are not handed to a loader, and ignores data that only looks like one", async () => {
    const literal = await analyze(bytes(P4, op.bb(inner), op.stop));
    expect(callees(literal)).toEqual(["os.system"]);
    const noise = await analyze(bytes(P4, op.bb(bytes([0x80, 0x02], new Uint8Array(40).fill(0xff))), op.stop));
    expect(noise.findings).toEqual([]);
  });

  it("stops at the nesting budget", async () => {
    let payload = inner;
    for (let i = 0; i < 4; i++) payload = bytes(P4, op.sglobal("pickle", "loads"), op.bb(payload), op.call1, op.stop);
    const a = await analyze(payload, { maxNesting: 2 });
    expect(a.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
    expect(a.invalid).toBe(true);
  });
});

describe("streams", () => {
  it("analyses concatenated pickles and reports data after the last one", async () => {
    const a = await analyze(bytes(P2, "N.", P4, "K\x01.", "trailing junk"));
    expect(a.runs).toHaveLength(2);
    expect(rules(a)).toEqual(["pickle/trailing-data"]);
    expect(a.trailingOffset).toBe(9);
  });

  it("keeps the payload before a broken tail", async () => {
    const a = await analyze(bytes(P2, op.global("os", "system"), SYSTEM_CALL(), [0x58, 0xff, 0xff, 0, 0]));
    expect(rules(a)).toEqual(["pickle/dangerous-global", "pickle/malformed"]);
    expect(a.invalid).toBe(true);
  });
});
