/**
 * The rule registry: the engine's own rules and every module's, in one list, derived from
 * {@link MODULES}. Each rules file declares its ids into `RuleRegistry` (`src/core/findings.ts`),
 * so `RuleId` is the union of them; `test/scan/wiring.test.ts` checks that every id a file declares
 * is in this list.
 *
 * The modules' rules files load on the first lookup that needs them (`lazyRules`,
 * `src/core/module.ts`): a scan that reports nothing, or only the engine's own findings, never
 * reads them (start-up, issue 18). The engine's and the policy's rules are always here.
 * @module
 */
import { pushAll } from "../core/arrays.js";
import type { RuleId } from "../core/findings.js";
import type { RuleDef } from "../core/rules.js";
import { coreRules, policyRules } from "./engine-rules.js";
import { MODULES } from "./modules.js";

export type { RuleId } from "../core/findings.js";
export type { RuleDef } from "../core/rules.js";

let all: readonly RuleDef[] | undefined;
let byId: ReadonlyMap<string, RuleDef> | undefined;

/**
 * Every rule: the engine's, each module's in registry order, then the policy's. The first call
 * loads the modules' rules files.
 */
export function allRules(): readonly RuleDef[] {
  all ??= Object.freeze([
    ...coreRules,
    ...MODULES.flatMap((m): readonly RuleDef[] => ("rules" in m ? m.rules : [])),
    ...policyRules,
  ]);
  return all;
}

/** The engine's and the policy's rules, which need no module loaded. */
const ENGINE_BY_ID: ReadonlyMap<string, RuleDef> = new Map([...coreRules, ...policyRules].map((r) => [r.id, r]));

function ruleById(id: string): RuleDef | undefined {
  const engine = ENGINE_BY_ID.get(id);
  if (engine !== undefined) return engine;
  byId ??= new Map(allRules().map((rule) => [rule.id, rule]));
  return byId.get(id);
}

/**
 * A read-only array whose elements are produced on first use: every read (an index, `length`, a
 * method, iteration, `Object.keys`) first fills and freezes the underlying array, so it behaves
 * as the frozen array itself.
 */
function lazyArray<T>(fill: () => readonly T[]): readonly T[] {
  const target: T[] = [];
  let filled = false;
  const ready = (): T[] => {
    if (!filled) {
      const items = fill();
      pushAll(target, items);
      Object.freeze(target);
      filled = true;
    }
    return target;
  };
  return new Proxy(target, {
    get: (_, key) => Reflect.get(ready(), key),
    has: (_, key) => Reflect.has(ready(), key),
    ownKeys: () => Reflect.ownKeys(ready()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(ready(), key),
    isExtensible: () => Reflect.isExtensible(ready()),
    preventExtensions: () => Reflect.preventExtensions(ready()),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/**
 * Every rule: the engine's, each module's in registry order, then the policy's. A frozen array
 * that loads the modules' rules files when first read ({@link allRules} returns the plain array).
 */
export const RULES: readonly RuleDef[] = lazyArray(allRules);

/**
 * Looks a rule up by id.
 * @param id - rule identifier
 * @returns the rule, or undefined if no rule has that id
 */
export function getRule(id: string): RuleDef | undefined {
  return ruleById(id);
}

/**
 * Whether a string is a registered rule id.
 * @param id - candidate identifier
 */
export function isRuleId(id: string): id is RuleId {
  return ruleById(id) !== undefined;
}
