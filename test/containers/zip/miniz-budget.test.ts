/**
 * Deflated members of PyTorch archives that zlib refuses are decoded as miniz decodes them, and
 * what that decoding writes is charged to the scan's decompression budget as it is written: a
 * junk member that declares 24 MiB and fails at its first block costs nothing, so a handful of
 * them no longer spend a checkpoint's budget (the scan used to end `invalid`, budget exceeded),
 * while a cheap stream that really writes more than the budget still stops at it.
 */
import { describe, expect, it } from "vitest";
import { minizInflate } from "../../../src/containers/zip/miniz-inflate.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";
import { buildZip } from "../zip-builder.js";

const MIB = 1024 * 1024;
/** `{}` as torch.save pickles it. */
const EMPTY_DICT = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
/** A final block of the reserved type 3 (both decoders fail at once), then filler. */
const JUNK = new Uint8Array(96 * 1024).fill(0x5a).fill(0x07, 0, 1);
/** A final dynamic block without codes: tinfl writes literal 0 until the buffer is full. */
const FILLS = (() => {
  const b = new Uint8Array(96 * 1024);
  b.set([0x05, 0x00, 0x00, 0x00]);
  return b;
})();

function checkpoint(members: { name: string; payload: Uint8Array; declared: number }[]): Uint8Array {
  return buildZip([
    { name: "archive/data.pkl", data: EMPTY_DICT },
    ...members.map((m) => ({ name: m.name, method: 8, payload: m.payload, declaredSize: m.declared, crc: 0 })),
    { name: "archive/version", data: "3\n" },
  ]);
}

describe("miniz decoding charged as it writes", () => {
  it("charges a member that fails at once nothing of what it declares", async () => {
    const members = [0, 1, 2].map((i) => ({ name: `archive/extra/junk${i}`, payload: JUNK, declared: 24 * MIB }));
    const file = await scanOne(checkpoint(members), "model.pt", { limits: { maxDecompressedBytes: 40 * MIB } });
    expect(ruleIds(file)).toContain("zip/member-undecodable");
    expect(ruleIds(file)).not.toContain("scan/budget-exceeded");
    expect(file.verdict).not.toBe("invalid");
    const undecodable = file.findings.find((f) => f.ruleId === "zip/member-undecodable");
    expect(undecodable?.evidence?.declared).toBe(24 * MIB);
  });

  it("still stops at the budget a stream that really writes past it", async () => {
    const members = [{ name: "archive/extra/fill", payload: FILLS, declared: 60 * MIB }];
    const file = await scanOne(checkpoint(members), "model.pt", { limits: { maxDecompressedBytes: 32 * MIB } });
    expect(file.verdict).toBe("invalid");
  });

  it("charges exactly what it writes", () => {
    let charged = 0;
    const result = minizInflate(FILLS, 40 * MIB, { charge: (n) => (charged += n) });
    expect(result.written).toBe(40 * MIB);
    expect(charged).toBe(40 * MIB);
    let junk = 0;
    const failed = minizInflate(JUNK, 60 * MIB, { charge: (n) => (junk += n) });
    expect(failed.status).toBe("failed");
    expect(junk).toBe(0);
    expect(failed.produced.length).toBe(0);
    expect(failed.output.length).toBe(60 * MIB);
  });
});
