/**
 * `modelgate rules [ID|AREA]`: the rule registry, listed or one rule explained.
 * @module
 */
import { parseArgs } from "../../core/node-util.js";
import type { RuleDef } from "../../core/rules.js";
import { SEVERITIES, type Severity } from "../../core/severity.js";
import { allRules } from "../../registry/rules.js";
import { type Command, EXIT, UsageError } from "../io.js";
import { didYouMean } from "../suggest.js";

const USAGE = `Usage: modelgate rules [ID|AREA] [options]

Without an argument, lists every rule: id, default severity and title. With a rule id
(pickle/dangerous-global), explains the rule: what triggers it, why it matters, whether a policy
may disable it, advisories and references. With an area (pickle), lists that area's rules.

Options:
  --severity LEVEL   list only rules of this default severity: info|low|medium|high|critical
  --format FORMAT    text|json (default text)
  -h, --help         show this help

Exit codes: 0 shown; 2 unknown rule or area (with the closest ids), or usage error.`;

const areaOf = (id: string): string => id.split("/")[0] ?? id;

/** One line per rule, columns aligned. */
function list(rules: readonly RuleDef[]): string {
  const idWidth = Math.max(...rules.map((r) => r.id.length)); // bounded: the rule registry
  const sevWidth = Math.max(...SEVERITIES.map((s) => s.length)); // bounded: five severities
  return rules.map((r) => `${r.id.padEnd(idWidth)}  ${r.severity.padEnd(sevWidth)}  ${r.title}\n`).join("");
}

/** Words of a paragraph on lines of at most `width` columns (a longer word gets its own line). */
function wrap(text: string, width = 100): string {
  return text
    .split(/\n{2,}/)
    .map((paragraph) => {
      const lines: string[] = [];
      let line = "";
      for (const word of paragraph.split(/\s+/).filter((w) => w !== "")) {
        if (line !== "" && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line === "" ? word : `${line} ${word}`;
        }
      }
      if (line !== "") lines.push(line);
      return lines.join("\n");
    })
    .join("\n\n");
}

/** The full explanation of one rule. */
function explain(rule: RuleDef): string {
  const lines = [
    `${rule.id}  (${rule.severity}${rule.invalidates === true ? ", invalidates" : ""})`,
    rule.title,
    "",
    wrap(rule.description.trim()),
    "",
  ];
  if (rule.invalidates === true) {
    lines.push(
      wrap(
        "A finding of this rule means the file could not be analysed: its verdict is at least invalid, and a policy cannot disable or suppress it (a file that was not read is never clean).",
      ),
      "",
    );
  } else {
    lines.push(
      wrap(
        `Policy: "severity": { "${rule.id}": "<level>" } changes its severity, "disable": ["${rule.id}"] drops it, a "suppressions" entry accepts it for given paths (see 'modelgate init').`,
      ),
      "",
    );
  }
  if (rule.cve !== undefined && rule.cve.length > 0) lines.push(wrap(`Covers: ${rule.cve.join(", ")}`), "");
  if (rule.references !== undefined && rule.references.length > 0) {
    lines.push("References:", ...rule.references.map((r) => `  ${r}`), ""); // bounded: a rule's references
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** `modelgate rules`. */
export const rulesCommand: Command = {
  summary: "list the rules, or explain one",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        severity: { type: "string" },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (values.format !== "text" && values.format !== "json") throw new UsageError("--format must be text or json");
    const severity = values.severity as Severity | undefined;
    if (severity !== undefined && !SEVERITIES.includes(severity)) {
      throw new UsageError(`--severity must be one of ${SEVERITIES.join(", ")}`);
    }
    if (positionals.length > 1) throw new UsageError("rules takes at most one rule id or area");
    const wanted = positionals[0];
    const RULES = allRules();
    let rules = RULES.filter((r) => severity === undefined || r.severity === severity);
    if (wanted !== undefined) {
      const rule = RULES.find((r) => r.id === wanted);
      if (rule !== undefined) {
        io.stdout(values.format === "json" ? json(rule) : explain(rule));
        return EXIT.ok;
      }
      const area = wanted.replace(/\/\*?$/, "");
      if (!RULES.some((r) => areaOf(r.id) === area)) {
        const areas = [...new Set(RULES.map((r) => areaOf(r.id)))];
        const byName = RULES.filter((r) => r.id.endsWith(`/${wanted}`)).map((r) => r.id);
        const match =
          byName.length > 0
            ? `${byName.slice(0, 4).join(" or ")}${byName.length > 4 ? ` (${byName.length - 4} more)` : ""}`
            : didYouMean(wanted, wanted.includes("/") ? RULES.map((r) => r.id) : areas);
        throw new UsageError(
          `no rule or area "${wanted}"${match === undefined ? "" : ` (did you mean ${match}?)`}; 'modelgate rules' lists them`,
        );
      }
      rules = rules.filter((r) => areaOf(r.id) === area);
    }
    if (values.format === "json") {
      io.stdout(json(rules));
    } else if (rules.length > 0) {
      io.stdout(list(rules));
    }
    return EXIT.ok;
  },
};
