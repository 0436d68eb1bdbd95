/**
 * Nested payloads draw on the engine's budgets: every decompression is charged to the one budget
 * the analyzer passes (the scan's `maxDecompressedBytes`), nesting counts against the depth the
 * scan's `maxDepth` leaves, and payloads that are not pickle streams go to the engine as members
 * (sniffed, decompressed and analysed there).
 */
import { deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ModelgateError } from "../../../src/core/errors.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";
import { analyze, bytes, callees, op, rules } from "./helpers.js";

const P4 = op.proto(4);
const SYSTEM = bytes(P4, op.sglobal("os", "system"), op.sbu("echo hi"), op.call1, op.stop);
/** `pickle.loads(zlib.decompress(<deflated inner>))` */
const viaZlib = (inner: Uint8Array) =>
  bytes(
    P4,
    op.sglobal("pickle", "loads"),
    op.sglobal("zlib", "decompress"),
    op.bb(deflateSync(inner)),
    op.call1,
    op.call1,
    op.stop,
  );

describe("decompression budget", () => {
  it("charges every decompressed byte to the budget the caller passes", async () => {
    const charged: number[] = [];
    const padded = bytes(
      P4,
      op.bb(new Uint8Array(5000)),
      [0x30],
      op.sglobal("os", "system"),
      op.sbu("x"),
      op.call1,
      op.stop,
    );
    const a = await analyze(viaZlib(padded), { chargeDecompressed: (n) => charged.push(n) });
    expect(callees(a)).toContain("os.system");
    expect(charged.reduce((x, y) => x + y, 0)).toBe(padded.length);
  });

  it("stops at the budget with a typed finding and keeps what came before", async () => {
    const budget = (n: number) => {
      if (n > 100)
        throw new ModelgateError("BUDGET_EXCEEDED", "decompressed too much", { budget: "maxDecompressedBytes" });
    };
    const big = bytes(P4, op.bb(new Uint8Array(5000)), op.stop);
    const a = await analyze(
      bytes(P4, op.sglobal("os", "system"), op.sbu("id"), op.call1, [0x30], viaZlib(big).subarray(2)),
      {
        chargeDecompressed: budget,
      },
    );
    expect(callees(a)).toContain("os.system");
    const stop = a.findings.find((f) => f.ruleId === "scan/budget-exceeded");
    expect(stop?.evidence?.budget).toBe("maxDecompressedBytes");
    expect(a.invalid).toBe(true);
  });

  it("charges payload decompression in the engine to the scan's maxDecompressedBytes", async () => {
    const inner = bytes(P4, op.bb(new Uint8Array(20_000)), op.stop);
    const file = viaZlib(inner);
    const ok = await scanOne(file, "x.pkl");
    expect(ruleIds(ok)).not.toContain("scan/budget-exceeded");
    const over = await scanOne(file, "x.pkl", { limits: { maxDecompressedBytes: 10_000 } });
    const stop = over.findings.find((f) => f.ruleId === "scan/budget-exceeded");
    expect(stop?.evidence?.budget).toBe("maxDecompressedBytes");
  });
});

describe("nesting and members", () => {
  it("counts nested loads against the nesting the scan's maxDepth leaves", async () => {
    let payload = SYSTEM;
    for (let i = 0; i < 3; i++) payload = bytes(P4, op.sglobal("pickle", "loads"), op.bb(payload), op.call1, op.stop);
    const deep = await scanOne(payload, "x.pkl", { limits: { maxDepth: 2 } });
    expect(ruleIds(deep)).toContain("scan/budget-exceeded");
    const ok = await scanOne(payload, "x.pkl");
    expect(ok.findings.some((f) => f.evidence?.callee === "os.system")).toBe(true);
  });

  it("counts joblib object arrays (a pickle inline in a pickle) as nesting", async () => {
    // NumpyArrayWrapper of dtype object: its data is a whole pickle inline, holding the next one
    const dtype = bytes(
      op.global("numpy", "dtype"),
      op.bu("O8"),
      [0x89, 0x88, 0x87, 0x52],
      "(K\x03",
      op.bu("|"),
      "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x3ftb",
    );
    const objectArray = (inline: Uint8Array) =>
      bytes(
        [0x80, 0x02],
        op.global("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ")\x81}(",
        op.bu("shape"),
        "K\x01\x85",
        op.bu("dtype"),
        dtype,
        "ub",
        inline,
        ".",
      );
    let stream = SYSTEM;
    for (let i = 0; i < 3; i++) stream = objectArray(stream);
    // before the fix, the findings of inline pickles two or more levels down were dropped
    const ok = await analyze(stream);
    expect(callees(ok)).toContain("os.system");
    expect(rules(ok)).not.toContain("scan/budget-exceeded");
    const deep = await analyze(stream, { maxNesting: 2 });
    expect(deep.findings.find((f) => f.ruleId === "scan/budget-exceeded")?.evidence?.budget).toBe("maxNesting");
    expect(deep.invalid).toBe(true);
  });

  it("hands payloads that are not pickle streams to the engine as members", async () => {
    // joblib.load of a gzip-compressed pickle: the engine decompresses it and finds the call
    const file = bytes(P4, op.sglobal("joblib", "load"), op.bb(gzipSync(SYSTEM)), op.call1, op.stop);
    const a = await analyze(file);
    expect(a.embedded.map((e) => e.name)).toEqual([expect.stringMatching(/^joblib\.load@\d+$/)]);
    expect(rules(a)).not.toContain("pickle/malformed");
    const report = await scanOne(file, "x.pkl");
    expect(report.findings.some((f) => f.evidence?.callee === "os.system" && f.path.includes("!joblib.load@"))).toBe(
      true,
    );
    expect(report.verdict).toBe("malicious");
  });
});
