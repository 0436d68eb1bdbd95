import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectExecutorch } from "../../../src/formats/executorch/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { pteProgram, withExtendedHeader } from "../flatbuffer/build.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "executorch", p)));

describe("executorch", () => {
  it("detects ET + two digits at bytes 4–8", () => {
    const bytes = sample("clean/add_mul_xnnpack.pte");
    expect(detectExecutorch({ head: bytes, tail: bytes, size: bytes.length, name: "x" })?.reason).toMatch(
      /ET12 with an extended header/,
    );
    const other = bytes.slice();
    other[6] = 0x41;
    expect(detectExecutorch({ head: other, tail: other, size: other.length, name: "x" })).toBeUndefined();
  });

  it("reads the benign sample: aten operators, an XNNPACK delegate in a segment", async () => {
    const f = await scanOne(sample("clean/add_mul_xnnpack.pte"), "m.pte");
    expect(f.format).toBe("executorch");
    expect(f.verdict).toBe("clean");
    expect(f.facts?.["executorch.operators"]).toEqual(["aten::add.out", "aten::mul.out"]);
    expect(f.facts?.["executorch.delegates"]).toEqual(["XnnpackBackend"]);
    expect(f.facts?.["executorch.segments"]).toBe(1);
    expect(f.members?.map((m) => m.path)).toEqual(["m.pte!delegate/0-XnnpackBackend"]);
  });

  it("grades delegates and operator namespaces", async () => {
    const known = await scanOne(
      pteProgram({ delegates: [{ id: "CoreMLBackend", location: 0, index: 0 }], inline: ["blob"] }),
      "m.pte",
    );
    expect(known.verdict).toBe("clean");
    const unknown = await scanOne(
      pteProgram({ delegates: [{ id: "Evil", location: 0, index: 0 }], inline: ["blob"] }),
      "m.pte",
    );
    expect(unknown.verdict).toBe("suspicious");
    expect(ruleIds(unknown)).toContain("executorch/unknown-delegate");
    const custom = await scanOne(
      pteProgram({
        operators: [
          ["mylib::op", "out"],
          ["llama::sdpa", "out"],
        ],
      }),
      "m.pte",
    );
    expect(custom.findings.filter((x) => x.ruleId === "executorch/custom-op").map((x) => x.evidence?.operator)).toEqual(
      ["mylib::op.out"],
    );
  });

  it("flags what the runtime refuses as invalid", async () => {
    const cases: [Uint8Array, RegExp][] = [
      [pteProgram({ delegates: [{ id: "XnnpackBackend", location: 1, index: 3 }] }), /segment data 3/],
      [pteProgram({ delegates: [{ id: "XnnpackBackend", location: 0, index: 0 }] }), /inline data 0/],
      [pteProgram({ calls: [4] }), /operator 4 of 1/],
      [pteProgram({ identifier: "ET11" }), /ET11/],
      [withExtendedHeader(pteProgram({ segments: [{ offset: 0, size: 1 << 20 }] }), 0), /segment 0/],
      [withExtendedHeader(pteProgram(), 0, 1 << 30), /program size/],
      [withExtendedHeader(pteProgram(), 1 << 30), /segment base/],
    ];
    for (const [bytes, message] of cases) {
      const f = await scanOne(bytes, "m.pte");
      expect(f.verdict, String(message)).toBe("invalid");
      expect(
        f.findings.some((x) => x.ruleId === "executorch/malformed" && message.test(x.message)),
        String(message),
      ).toBe(true);
    }
  });

  it("is never clean when truncated", async () => {
    const bytes = sample("clean/add_mul_xnnpack.pte");
    for (const cut of [8, 20, 100, bytes.length >> 1]) {
      const f = await scanOne(bytes.subarray(0, cut), "m.pte");
      expect(f.verdict, `cut at ${cut}`).toBe("invalid");
    }
  });
});
