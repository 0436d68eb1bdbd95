/**
 * Counts over file reports.
 * @module
 */

import { SEVERITIES, VERDICTS } from "../core/severity.js";
import type { FileReport, Summary } from "./schema.js";

/**
 * Counts verdicts and severities over file reports (suppressed findings are not counted).
 * @param files - the per-file reports
 * @param bytesRead - bytes the analyzers read
 */
export function summarize(files: readonly FileReport[], bytesRead: number): Summary {
  const byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Summary["byVerdict"];
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Summary["bySeverity"];
  let findings = 0;
  for (const file of files) {
    byVerdict[file.verdict]++;
    for (const f of file.findings) {
      bySeverity[f.severity]++;
      findings++;
    }
  }
  return { files: files.length, findings, byVerdict, bySeverity, bytesRead };
}
