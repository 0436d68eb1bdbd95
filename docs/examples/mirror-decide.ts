// What a registry mirror does with a scan report: publish, quarantine, retry later or reject.
import type { ScanReport } from "modelgate";

/** The mirror's decision about one requested repository. */
export interface Decision {
  readonly action: "publish" | "quarantine" | "retry" | "reject";
  /** `owner/name@commit` when the revision was resolved: publish exactly what was scanned. */
  readonly subject: string;
  readonly reason: string;
}

/** Errors that say nothing about the model: the scan should simply run again later. */
const TRANSIENT = new Set(["NETWORK", "TIMEOUT", "ABORTED"]);
const TRANSIENT_RULES = new Set(["scan/read-error", "scan/timeout", "scan/aborted"]);

/** Decides from a report alone; anything not positively clean and complete stays out of the mirror. */
export function decide(report: ScanReport): Decision {
  const hub = report.target.hub;
  const subject = hub === undefined ? report.target.name : `${hub.repo}@${hub.commit}`;
  const worst = report.files.filter((f) => f.verdict === report.verdict);
  const rules = [...new Set(worst.flatMap((f) => f.findings.map((x) => x.ruleId)))];
  const why = `${worst.map((f) => f.path).join(", ")} ${report.verdict} (${rules.join(", ")})`;

  // A definite finding wins over everything else, even in an incomplete scan.
  if (report.verdict === "malicious") return { action: "quarantine", subject, reason: why };
  if (report.files.length === 0 && report.errors.some((e) => e.code === "INVALID_ARGUMENT")) {
    return { action: "reject", subject, reason: report.errors.map((e) => e.message).join("; ") }; // no such repo/revision
  }
  const ruleIds = report.files.flatMap((f) => f.findings.map((x) => x.ruleId));
  if (report.errors.some((e) => TRANSIENT.has(e.code)) || ruleIds.some((r) => TRANSIENT_RULES.has(r))) {
    const errors = report.errors.map((e) => `${e.code}: ${e.message}`).join("; ");
    return { action: "retry", subject, reason: errors === "" ? why : errors };
  }
  if (report.verdict !== "clean" || !report.complete) {
    // suspicious: a human reviews it (a policy suppression can accept it); invalid: could not be analysed
    return { action: "quarantine", subject, reason: why };
  }
  return { action: "publish", subject, reason: `${report.files.length} files clean` };
}
