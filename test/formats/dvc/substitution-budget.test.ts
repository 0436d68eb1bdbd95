// Substituting `${...}` in DVC commands is budgeted per command and per file: a 50 KB value
// substituted 9,000 times in a command, for each of 64 `foreach` items, took 4.5 GB and ended the
// process (V8 heap out of memory, no report at all, a malicious pickle beside it unreported).
import { describe, expect, it } from "vitest";
import { MAX_SUBSTITUTED_TOTAL, resolveCommands, substitutionBudget } from "../../../src/formats/dvc/interpolate.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const big = "x".repeat(50_000);
/** `${v}` as DVC writes it (built so that it is not read as a template literal by mistake). */
const V = ["$", "{v}"].join("");
const items = Array.from({ length: 64 }, (_, i) => `i${i}`);

describe("DVC command substitution budget", () => {
  it("a command that would substitute past the bound stays unresolved, and the file's budget is shared", () => {
    const budget = substitutionBudget();
    const stage = { foreach: items, do: { cmd: V.repeat(9000) } };
    const [cmd] = resolveCommands([V.repeat(9000)], stage, new Map([["v", big]]), budget);
    expect(cmd?.resolved).toBeUndefined();
    const small = resolveCommands([`echo ${V}`], stage, new Map([["v", big]]), budget);
    expect(small[0]?.resolved).toHaveLength(64);
    expect(budget.left).toBe(MAX_SUBSTITUTED_TOTAL - 64 * (big.length + 5));
    // the rest of the file's budget runs out: later commands stay unresolved
    let last: unknown;
    for (let i = 0; i < 20; i++)
      last = resolveCommands([`echo ${V}`], stage, new Map([["v", big]]), budget)[0]?.resolved;
    expect(last).toBeUndefined();
  });

  it("the attack file scans, bounded, with the command reported as built from parameters", async () => {
    const yaml = [
      "vars:",
      `  - v: ${big}`,
      "stages:",
      "  s:",
      `    foreach: [${items.join(", ")}]`,
      "    do:",
      `      cmd: "${V.repeat(9000)}"`,
      "",
    ].join("\n");
    const f = await scanOne(Buffer.from(yaml), "dvc.yaml");
    expect(ruleIds(f)).toContain("dvc/stage-command");
    expect(f.findings.some((x) => x.ruleId === "dvc/stage-command" && x.severity === "medium")).toBe(true);
  }, 60_000);
});
