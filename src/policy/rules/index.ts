/**
 * The rule registry: every rule id modelgate can emit, in one list.
 * @module
 */

import type { RuleId } from "../../core/findings.js";
import { coreRules } from "./core.js";
import { ggufRules } from "./gguf.js";
import { hubRules } from "./hub.js";
import { integrityRules } from "./integrity.js";
import { kerasRules } from "./keras.js";
import { onnxRules } from "./onnx.js";
import { pickleRules } from "./pickle.js";
import { policyRules } from "./policy.js";
import { repoRules } from "./repo.js";
import { safetensorsRules } from "./safetensors.js";
import { savedmodelRules } from "./savedmodel.js";
import { sevenZipRules } from "./sevenzip.js";
import { tarRules } from "./tar.js";
import { templateRules } from "./template.js";
import type { RuleDef } from "./types.js";
import { zipRules } from "./zip.js";

export type { RuleDef } from "./types.js";

/** Every rule, grouped by area. */
export const RULES = [
  ...coreRules,
  ...zipRules,
  ...tarRules,
  ...sevenZipRules,
  ...pickleRules,
  ...safetensorsRules,
  ...onnxRules,
  ...ggufRules,
  ...kerasRules,
  ...savedmodelRules,
  ...templateRules,
  ...repoRules,
  ...integrityRules,
  ...hubRules,
  ...policyRules,
] as const satisfies readonly RuleDef[];

export type { RuleId } from "../../core/findings.js";

declare module "../../core/findings.js" {
  // every id of the registry: `RuleId` (src/core/findings.ts) is the union of these keys
  interface RuleRegistry extends Record<(typeof RULES)[number]["id"], true> {}
}

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
