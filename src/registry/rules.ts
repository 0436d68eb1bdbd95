/**
 * The rule registry: the engine's own rules and every module's, in one list, derived from
 * {@link MODULES}. Each rules file declares its ids into `RuleRegistry` (`src/core/findings.ts`),
 * so `RuleId` is the union of them; `test/scan/wiring.test.ts` checks that every id a file declares
 * is in this list.
 * @module
 */
import type { RuleId } from "../core/findings.js";
import type { RuleDef } from "../core/rules.js";
import { coreRules, policyRules } from "./engine-rules.js";
import { MODULES } from "./modules.js";

/** Every rule: the engine's, each module's in registry order, then the policy's. */
export const RULES: readonly RuleDef[] = Object.freeze([
  ...coreRules,
  ...MODULES.flatMap((m): readonly RuleDef[] => ("rules" in m ? m.rules : [])),
  ...policyRules,
]);

export type { RuleId } from "../core/findings.js";
export type { RuleDef } from "../core/rules.js";

const BY_ID: ReadonlyMap<string, RuleDef> = new Map(RULES.map((rule) => [rule.id, rule]));

/**
 * Looks a rule up by id.
 * @param id - rule identifier
 * @returns the rule, or undefined if no rule has that id
 */
export function getRule(id: string): RuleDef | undefined {
  return BY_ID.get(id);
}

/**
 * Whether a string is a registered rule id.
 * @param id - candidate identifier
 */
export function isRuleId(id: string): id is RuleId {
  return BY_ID.has(id);
}
