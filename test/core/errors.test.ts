import { describe, expect, it } from "vitest";
import * as legacy from "../../src/core/errors.js";
import {
  ENGINE_OPERATIONAL_RULES,
  ERROR_TABLE,
  type ErrorCode,
  isModelgateError,
  ModelgateError,
  operationalCode,
  ruleForError,
  toModelgateError,
} from "../../src/core/errors.js";
import { ModelgateError as FromIndex } from "../../src/index.js";
import { getRule, isRuleId } from "../../src/registry/rules.js";

const CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

describe("the error table (code → rule, operational)", () => {
  it("maps every code to a registered rule; operational rules are the scan/ ones", () => {
    expect(CODES).toHaveLength(12);
    for (const code of CODES) {
      const { rule, operational } = ERROR_TABLE[code];
      expect(isRuleId(rule), rule).toBe(true);
      expect(ruleForError(new ModelgateError(code, "x"))).toBe(rule);
      expect(operationalCode(rule) !== undefined).toBe(operational);
    }
    for (const rule of Object.keys(ENGINE_OPERATIONAL_RULES)) expect(isRuleId(rule), rule).toBe(true);
  });

  it("gives the rules the engine always used", () => {
    const rules = Object.fromEntries(CODES.map((code) => [code, ruleForError(new ModelgateError(code, "x"))]));
    expect(rules).toEqual({
      TRUNCATED: "format/malformed",
      MALFORMED: "format/malformed",
      BUDGET_EXCEEDED: "scan/budget-exceeded",
      UNSUPPORTED: "format/unsupported",
      IO: "scan/read-error",
      NETWORK: "scan/read-error",
      ABORTED: "scan/aborted",
      TIMEOUT: "scan/timeout",
      INTERNAL: "scan/internal-error",
      INVALID_ARGUMENT: "scan/internal-error",
      SIGNATURE: "scan/internal-error",
      POLICY: "scan/internal-error",
    });
    // an error with a code the table does not know (a caller's) is internal
    expect(ruleForError(new ModelgateError("BOGUS" as ErrorCode, "x"))).toBe("scan/internal-error");
  });

  it("lists operational findings under the codes the report always used", () => {
    const table = Object.fromEntries(
      [...new Set(Object.values(ERROR_TABLE).map((e) => e.rule)), ...Object.keys(ENGINE_OPERATIONAL_RULES)].map(
        (rule) => [rule, operationalCode(rule)],
      ),
    );
    expect(table).toEqual({
      "format/malformed": undefined,
      "scan/budget-exceeded": undefined,
      "format/unsupported": undefined,
      "scan/read-error": "IO",
      "scan/aborted": "ABORTED",
      "scan/timeout": "TIMEOUT",
      "scan/internal-error": "INTERNAL",
      "scan/file-changed": "IO",
      "scan/depth-exceeded": "BUDGET_EXCEEDED",
    });
    expect(operationalCode("pickle/dangerous-global")).toBeUndefined();
  });

  it("operational rules make the file invalid", () => {
    for (const rule of [...Object.values(ERROR_TABLE).map((e) => e.rule), ...Object.keys(ENGINE_OPERATIONAL_RULES)]) {
      expect(getRule(rule)?.invalidates, rule).toBe(true);
    }
  });
});

describe("ModelgateError", () => {
  it("is one class, whatever the path it is imported from", () => {
    expect(legacy.ModelgateError).toBe(ModelgateError);
    expect(FromIndex).toBe(ModelgateError);
    expect(isModelgateError(toModelgateError(new Error("x")), "INTERNAL")).toBe(true);
  });
});
