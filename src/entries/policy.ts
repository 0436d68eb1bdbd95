/**
 * `modelgate/policy`: policies (the options of a `.modelgate.json`), finding and validating them,
 * the pickle allowlist settings, and the rule registry. `modelgate` exports the asynchronous
 * loaders (`loadPolicyFile`, `discoverPolicy`) and the types; `validatePolicy` and the rule
 * registry load zod and every format's rules, so they are exported here only.
 * @module
 */
export type { RuleId, RuleRegistry } from "../core/findings.js";
export type { RuleDef } from "../core/rules.js";
export type { PickleContext, PicklePolicyOptions } from "../formats/pickle/policy/index.js";
export type { SignatureRequirement } from "../integrity/oms/requirement.js";
export {
  type DiscoverPolicyOptions,
  discoverPolicy,
  findPolicyFile,
  loadPolicyFile,
  POLICY_FILE_NAME,
} from "../policy/load.js";
export { type PolicyOptions, PolicyOptionsSchema, type Suppression, validatePolicy } from "../policy/policy.js";

import type { RuleDef } from "../core/rules.js";
import { allRules } from "../registry/rules.js";

export { getRule, isRuleId } from "../registry/rules.js";

/**
 * Every rule: the engine's, each format module's in registry order, then the policy's (a frozen
 * array; the engine's own copy loads the modules' rules files on first use).
 */
export const RULES: readonly RuleDef[] = allRules();

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
