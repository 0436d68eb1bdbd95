/**
 * Markdown documentation of the rule registry (docs/rules.md is generated from it).
 * @module
 */
import type { RuleDef } from "../core/rules.js";
import { allRules } from "./rules.js";

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** Renders every rule as Markdown, grouped by area. */
export function renderRulesMarkdown(): string {
  const RULES = allRules();
  const byArea = new Map<string, RuleDef[]>();
  for (const rule of RULES as readonly RuleDef[]) {
    const area = rule.id.split("/")[0] ?? rule.id;
    byArea.set(area, [...(byArea.get(area) ?? []), rule]);
  }
  const out: string[] = [
    "# Rules",
    "",
    "<!-- Generated from the rule registry (src/registry/rules.ts) by `npm run docs:rules`; do not edit by hand. -->",
    "",
    "Every finding names one of these rules. Ids are stable. Severity is the default; a policy can",
    "override it. Rules marked *invalidates* mean the input could not be parsed safely: the file's",
    "verdict is at least `invalid`, never `clean`.",
    "",
    "Severity → verdict: critical/high → `malicious`; medium/low → `suspicious`; info → `clean`.",
    "",
    "| rule | severity | title |",
    "|---|---|---|",
    ...(RULES as readonly RuleDef[]).map(
      (r) => `| [\`${r.id}\`](#${r.id.replace(/[^a-z0-9-]/g, "")}) | ${r.severity} | ${cell(r.title)} |`,
    ),
    "",
  ];
  for (const [area, rules] of byArea) {
    out.push(`## ${area}`, "");
    for (const r of rules) {
      out.push(`### \`${r.id}\``, "");
      out.push(`**${r.title}**, severity \`${r.severity}\`${r.invalidates === true ? ", *invalidates*" : ""}.`, "");
      out.push(r.description, "");
      if (r.cve !== undefined && r.cve.length > 0) out.push(`Covers: ${r.cve.join(", ")}.`, "");
      if (r.references !== undefined && r.references.length > 0) {
        out.push("References:", "", ...r.references.map((ref) => `- ${ref}`), ""); // bounded: a rule's references
      }
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}
