import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { RuleDef } from "../../src/core/rules.js";
import { getRule, RULES } from "../../src/registry/rules.js";
import { renderRulesMarkdown } from "../../src/registry/rules-doc.js";

describe("rule registry", () => {
  it("has unique, well-formed ids and complete documentation", () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of RULES as readonly RuleDef[]) {
      expect(rule.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*\/[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(rule.title.length).toBeGreaterThan(3);
      expect(rule.description.length).toBeGreaterThan(20);
      expect(getRule(rule.id)).toBe(rule);
    }
  });

  it("docs/rules.md is generated from the registry and up to date", () => {
    const committed = readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8");
    expect(committed).toBe(renderRulesMarkdown());
  });
});
