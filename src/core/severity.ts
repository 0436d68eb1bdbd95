/**
 * Severities of findings and verdicts of files: the two scales every layer shares.
 * @module
 */

/** Severities, least to most severe. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;

/** Severity of a finding. */
export type Severity = (typeof SEVERITIES)[number];

/** Verdicts, best to worst. */
export const VERDICTS = ["clean", "suspicious", "invalid", "malicious"] as const;

/** Verdict of a file, member or scan. */
export type Verdict = (typeof VERDICTS)[number];
