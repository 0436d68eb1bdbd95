/**
 * Ordering and combination of severities and verdicts.
 * @module
 */
import { SEVERITIES, type Severity, VERDICTS, type Verdict } from "../core/severity.js";

/**
 * Rank of a severity: info 0 ... critical 4.
 * @param severity - the severity
 */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/**
 * Rank of a verdict: clean 0 ... malicious 3.
 * @param verdict - the verdict
 */
export function verdictRank(verdict: Verdict): number {
  return VERDICTS.indexOf(verdict);
}

/**
 * The worse of verdicts (clean when none are given).
 * @param verdicts - verdicts to combine
 */
export function worstVerdict(...verdicts: Verdict[]): Verdict {
  let worst: Verdict = "clean";
  for (const v of verdicts) if (verdictRank(v) > verdictRank(worst)) worst = v;
  return worst;
}

/**
 * The verdict a finding of this severity implies: critical/high → malicious, medium/low →
 * suspicious, info → clean.
 * @param severity - the finding's severity
 */
export function verdictOfSeverity(severity: Severity): Verdict {
  switch (severity) {
    case "critical":
    case "high":
      return "malicious";
    case "medium":
    case "low":
      return "suspicious";
    case "info":
      return "clean";
  }
}

/**
 * The verdict a finding implies, given whether its rule means "could not be parsed safely".
 * @param severity - the finding's severity
 * @param invalidates - whether the rule marks the input `invalid`
 */
export function verdictOfFinding(severity: Severity, invalidates: boolean): Verdict {
  const bySeverity = verdictOfSeverity(severity);
  return invalidates ? worstVerdict(bySeverity, "invalid") : bySeverity;
}
