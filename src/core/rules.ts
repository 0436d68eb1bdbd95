/**
 * The shape of a rule in the registry.
 * @module
 */
import type { Severity } from "./severity.js";

/** A detection rule: stable id, default severity and documentation. */
export interface RuleDef {
  /** Stable identifier, `area/name` (e.g. `zip/name-mismatch`). Never renamed once published. */
  readonly id: string;
  /** One-line title. */
  readonly title: string;
  /** Default severity; policies may override it. */
  readonly severity: Severity;
  /** What triggers the rule and why it matters (Markdown, a few sentences). */
  readonly description: string;
  /**
   * True when a finding of this rule means the scanner could not parse the input safely, so the
   * file's verdict is at least `invalid` whatever the severity.
   */
  readonly invalidates?: boolean;
  /** CVE / GHSA identifiers the rule covers. */
  readonly cve?: readonly string[];
  /** Links to specs, advisories and write-ups. */
  readonly references?: readonly string[];
}
