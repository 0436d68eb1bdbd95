/**
 * Findings as analyzers report them, and the one capped collector every reader uses so that a
 * hostile input with a million anomalies yields a bounded report.
 * @module
 */
import type { Severity } from "./severity.js";

/**
 * The registered rule ids, as keys. Empty here: each rules file (a module's `rules.ts`, the
 * engine's `src/registry/engine-rules.ts`) adds the ids it defines by declaration merging, so code
 * below the registry can name {@link RuleId} (and have its ids checked) without importing it.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in the rules files
export interface RuleRegistry {}

/** Identifier of a registered rule (`pickle/dangerous-call`, `zip/name-mismatch` ...). */
export type RuleId = keyof RuleRegistry & string;

/** Structured evidence of a finding: opcode, callee, argument preview, offsets, names... */
export type Evidence = Record<string, string | number | boolean | null>;

/** A finding as an analyzer reports it; the engine fills in severity, verdict and path. */
export interface FindingInput {
  /** Registered rule id. */
  ruleId: RuleId;
  /** Human-readable message, specific to this occurrence. */
  message: string;
  /** Byte offset within the analysed file or member. */
  offset?: number;
  /** Structured evidence (opcode, callee, argument preview, names, ...). */
  evidence?: Evidence;
  /**
   * Severity for this occurrence when the rule's default does not fit (e.g. a pickle global that is
   * known-dangerous vs merely unknown share a rule family). Policy overrides still win.
   */
  severity?: Severity;
  /** CVE/GHSA ids beyond those of the rule. */
  cve?: string[];
  /** Member path when the finding concerns a named part of this file not scanned as a member. */
  path?: string;
}

/** Occurrences kept per rule and severity by default. */
export const DEFAULT_FINDINGS_PER_RULE = 20;

/**
 * A bounded list of findings: each rule and severity keeps its first `cap` occurrences, the rest
 * are counted and summarised in one closing finding (so a cut never lowers a verdict).
 */
export class FindingList<
  F extends { readonly ruleId: string; readonly severity?: Severity | undefined } = FindingInput,
> {
  readonly #items: F[] = [];
  readonly #counts = new Map<string, number>();
  readonly #cap: number;
  /** Occurrences per rule and severity: the cap applies to each. */
  readonly #kept = new Map<string, { readonly first: F; n: number }>();

  /** @param cap - occurrences kept per rule and severity (default 20) */
  constructor(cap = DEFAULT_FINDINGS_PER_RULE) {
    this.#cap = Math.max(1, cap);
  }

  /** Adds a finding (or counts it, past the cap: {@link FindingList.kept} then does not grow). */
  add(finding: F): void {
    this.#counts.set(finding.ruleId, (this.#counts.get(finding.ruleId) ?? 0) + 1);
    const key = `${finding.ruleId}\0${finding.severity ?? ""}`;
    const kept = this.#kept.get(key);
    if (kept === undefined) this.#kept.set(key, { first: finding, n: 1 });
    else kept.n++;
    if ((kept?.n ?? 1) <= this.#cap) this.#items.push(finding);
  }

  /** Whether a rule has been reported at least once. */
  has(ruleId: F["ruleId"]): boolean {
    return this.#counts.has(ruleId);
  }

  /** How many times a rule was reported, including occurrences past the cap. */
  count(ruleId: F["ruleId"]): number {
    return this.#counts.get(ruleId) ?? 0;
  }

  /** The findings kept so far, in the order they were added (no summaries). */
  get kept(): readonly F[] {
    return this.#items;
  }

  /**
   * The kept findings, followed by one summary finding per rule and severity that went over the
   * cap: `N more occurrences of <rule> not listed (M in total)`, evidence `occurrences` (M).
   */
  list(): (
    | F
    | {
        readonly ruleId: F["ruleId"];
        readonly message: string;
        readonly evidence: Evidence;
        readonly severity?: Severity;
      }
  )[] {
    const out: ReturnType<FindingList<F>["list"]> = [...this.#items];
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
