/**
 * Operators and delegates past the reader's list cap are still judged: padding a program with
 * thousands of standard operators (or known backends) cannot hide a custom operator (or an
 * unknown backend) that comes after them.
 */
import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";
import { pteProgram } from "../flatbuffer/build.js";

describe("ExecuTorch lists past their cap", () => {
  it("a custom operator after 2,100 aten operators is reported", async () => {
    const operators: [string, string][] = Array.from({ length: 2100 }, (_, i) => ["aten::add", `o${i}`]);
    operators.push(["mylib::evil", "out"]);
    const file = await scanOne(pteProgram({ operators }), "m.pte");
    expect(file.findings.filter((x) => x.ruleId === "executorch/custom-op").map((x) => x.evidence?.operator)).toEqual([
      "mylib::evil.out",
    ]);
  });

  it("an unknown backend after 2,100 known delegates is reported", async () => {
    const delegates = Array.from({ length: 2100 }, () => ({ id: "XnnpackBackend", location: 0, index: 0 }));
    delegates.push({ id: "Evil", location: 0, index: 0 });
    const file = await scanOne(pteProgram({ delegates, inline: ["blob"] }), "m.pte");
    expect(ruleIds(file)).toContain("executorch/unknown-delegate");
  });
});
