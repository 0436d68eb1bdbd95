/**
 * Collecting container anomalies with a cap per rule, so a hostile archive with a million bad
 * entries yields a bounded report (the first few occurrences plus a count of the rest).
 * @module
 */
import type { RuleId } from "../policy/rules/index.js";
import type { FindingInput } from "../scan/types.js";

/** A bounded list of findings; occurrences past the per-rule cap are counted, not kept. */
export class FindingList {
  readonly #items: FindingInput[] = [];
  readonly #counts = new Map<RuleId, number>();
  readonly #cap: number;

  /** @param cap - occurrences kept per rule (default 20) */
  constructor(cap = 20) {
    this.#cap = Math.max(1, cap);
  }

  /** Occurrences per rule and severity: the cap applies to each, so a cut never lowers a verdict. */
  readonly #kept = new Map<string, { readonly first: FindingInput; n: number }>();

  /** Adds a finding (or counts it, past the cap). */
  add(finding: FindingInput): void {
    this.#counts.set(finding.ruleId, (this.#counts.get(finding.ruleId) ?? 0) + 1);
    const key = `${finding.ruleId}\0${finding.severity ?? ""}`;
    const kept = this.#kept.get(key);
    if (kept === undefined) this.#kept.set(key, { first: finding, n: 1 });
    else kept.n++;
    if ((kept?.n ?? 1) <= this.#cap) this.#items.push(finding);
  }

  /** Whether a rule has been reported at least once. */
  has(ruleId: RuleId): boolean {
    return this.#counts.has(ruleId);
  }

  /** How many times a rule was reported, including occurrences past the cap. */
  count(ruleId: RuleId): number {
    return this.#counts.get(ruleId) ?? 0;
  }

  /** The kept findings, followed by one summary finding per rule that went over the cap. */
  list(): FindingInput[] {
    const out = [...this.#items];
    for (const { first, n } of this.#kept.values()) {
      if (n > this.#cap) {
        out.push({
          ruleId: first.ruleId,
          message: `${n - this.#cap} more occurrences of ${first.ruleId} not listed (${n} in total)`,
          evidence: { occurrences: n },
          ...(first.severity === undefined ? {} : { severity: first.severity }),
        });
      }
    }
    return out;
  }
}
