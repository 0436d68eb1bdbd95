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

  /** Adds a finding (or counts it, past the cap). */
  add(finding: FindingInput): void {
    const n = (this.#counts.get(finding.ruleId) ?? 0) + 1;
    this.#counts.set(finding.ruleId, n);
    if (n <= this.#cap) this.#items.push(finding);
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
    for (const [ruleId, n] of this.#counts) {
      if (n > this.#cap) {
        out.push({
          ruleId,
          message: `${n - this.#cap} more occurrences of ${ruleId} not listed (${n} in total)`,
          evidence: { occurrences: n },
        });
      }
    }
    return out;
  }
}
