/**
 * PickleError is a ModelgateError: its kind gives the error code, so the engine's table makes the
 * same rules of it as of any other reader's error, and the pickle analysis still reports its kind.
 */
import { describe, expect, it } from "vitest";
import { isModelgateError, ModelgateError, ruleForError } from "../../../src/core/errors.js";
import { PickleError } from "../../../src/formats/pickle/decoder.js";
import { analyze, bytes, op } from "./helpers.js";

describe("PickleError", () => {
  it("is a ModelgateError whose code follows its kind", () => {
    const cases = [
      [new PickleError("bad", 3), "MALFORMED", "format/malformed"],
      [new PickleError("short", 4, "truncated"), "TRUNCATED", "format/malformed"],
      [new PickleError("big", 5, "budget", "maxMemo"), "BUDGET_EXCEEDED", "scan/budget-exceeded"],
    ] as const;
    for (const [e, code, rule] of cases) {
      expect(e).toBeInstanceOf(ModelgateError);
      expect(isModelgateError(e, code)).toBe(true);
      expect(ruleForError(e)).toBe(rule);
      expect(e.name).toBe("PickleError");
      expect(e.rereads).toBe(false);
    }
    const budget = cases[2][0];
    expect([budget.message, budget.offset, budget.kind, budget.budget]).toEqual(["big", 5, "budget", "maxMemo"]);
    expect(cases[0][0].budget).toBeUndefined();
  });

  it("wraps the budgets and truncations of the reads beneath a pickle, nothing else", () => {
    const own = new PickleError("x", 1);
    expect(PickleError.from(own, 9)).toBe(own);
    const budget = PickleError.from(new ModelgateError("BUDGET_EXCEEDED", "too much", { budget: "maxReadBytes" }), 9);
    expect([budget?.kind, budget?.offset, budget?.budget, budget?.code]).toEqual([
      "budget",
      9,
      "maxReadBytes",
      "BUDGET_EXCEEDED",
    ]);
    const short = PickleError.from(new ModelgateError("TRUNCATED", "eof", { offset: 4 }), 9);
    expect([short?.kind, short?.offset, short?.code]).toEqual(["truncated", 4, "TRUNCATED"]);
    expect(PickleError.from(new ModelgateError("IO", "EIO"), 9)).toBeUndefined();
    expect(PickleError.from(new ModelgateError("MALFORMED", "x"), 9)).toBeUndefined();
    expect(PickleError.from(new Error("bug"), 9)).toBeUndefined();
  });

  it("still becomes pickle/malformed with its kind in the pickle analysis", async () => {
    const a = await analyze(bytes(op.proto(4), op.sbu("x")));
    const f = a.findings.find((x) => x.ruleId === "pickle/malformed");
    expect(f?.evidence).toMatchObject({ kind: "truncated" });
    expect(a.runs[0]?.error).toBeInstanceOf(ModelgateError);
  });
});
