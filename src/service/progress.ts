/**
 * A job's progress as `status` shows it.
 * @module
 */
import type { ScanReport } from "../report/schema.js";
import type { JobProgress } from "./types.js";

/**
 * The progress of a job: for a completed one, every file of its report done (progress updates are
 * throttled, so the last one stored may predate the end, or be missing for a short job).
 * @param progress - the last progress stored
 * @param report - the report of a completed job
 */
export function finishedProgress(progress: JobProgress, report: ScanReport | undefined): JobProgress {
  if (report === undefined) return progress;
  const n = report.files.length;
  return { filesTotal: n, filesDone: n, bytesDone: progress.bytesDone, path: "" };
}
