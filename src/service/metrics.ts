/**
 * Prometheus counters of the service, rendered in the text exposition format.
 * @module
 */
import type { ScanReport } from "../report/schema.js";
import type { JobState } from "./types.js";

/** Upper bounds (seconds) of the scan duration histogram. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

const escapeLabel = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** The service's counters. One per process; workers keep their own. */
export class Metrics {
  readonly #buckets = new Array<number>(DURATION_BUCKETS.length).fill(0);
  #durationSum = 0;
  #durationCount = 0;
  #bytesRead = 0;
  #filesScanned = 0;
  #cacheHits = 0;
  readonly #errors = new Map<string, number>();
  readonly #requests = new Map<string, number>();

  /**
   * Records a finished scan.
   * @param report - its report
   * @param seconds - how long it ran
   */
  jobFinished(report: ScanReport, seconds: number): void {
    this.#durationSum += seconds;
    this.#durationCount++;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#buckets[i]!++;
    });
    for (const file of report.files) {
      this.#filesScanned++;
      if (file.cached === true) this.#cacheHits++;
      else this.#bytesRead += file.size;
    }
    for (const e of report.errors) this.error(e.code);
  }

  /**
   * Counts an error by code.
   * @param code - a `ModelgateError` or service error code
   */
  error(code: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  /**
   * Counts an HTTP answer.
   * @param status - its status code
   */
  request(status: number): void {
    const key = String(status);
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /**
   * The exposition text.
   * @param jobs - job counts by state (from the queue)
   */
  render(jobs: Record<JobState, number>): string {
    const out: string[] = [];
    out.push("# HELP modelgate_jobs Scan jobs by state (kept jobs only: finished ones expire with their results).");
    out.push("# TYPE modelgate_jobs gauge");
    for (const [state, n] of Object.entries(jobs)) out.push(`modelgate_jobs{state="${state}"} ${n}`);
    out.push("# HELP modelgate_scan_duration_seconds Wall time of finished scans run by this process.");
    out.push("# TYPE modelgate_scan_duration_seconds histogram");
    DURATION_BUCKETS.forEach((le, i) => {
      out.push(`modelgate_scan_duration_seconds_bucket{le="${le}"} ${this.#buckets[i]}`);
    });
    out.push(`modelgate_scan_duration_seconds_bucket{le="+Inf"} ${this.#durationCount}`);
    out.push(`modelgate_scan_duration_seconds_sum ${this.#durationSum}`);
    out.push(`modelgate_scan_duration_seconds_count ${this.#durationCount}`);
    out.push("# HELP modelgate_bytes_read_total Bytes of files analysed (files answered from the cache excluded).");
    out.push("# TYPE modelgate_bytes_read_total counter");
    out.push(`modelgate_bytes_read_total ${this.#bytesRead}`);
    out.push("# HELP modelgate_files_scanned_total Files in finished reports.");
    out.push("# TYPE modelgate_files_scanned_total counter");
    out.push(`modelgate_files_scanned_total ${this.#filesScanned}`);
    out.push("# HELP modelgate_cache_hits_total Files answered from the verdict cache.");
    out.push("# TYPE modelgate_cache_hits_total counter");
    out.push(`modelgate_cache_hits_total ${this.#cacheHits}`);
    out.push("# HELP modelgate_errors_total Errors by code (scan errors, transient failures, API refusals).");
    out.push("# TYPE modelgate_errors_total counter");
    for (const [code, n] of [...this.#errors].sort())
      out.push(`modelgate_errors_total{code="${escapeLabel(code)}"} ${n}`);
    out.push("# HELP modelgate_http_responses_total HTTP answers by status.");
    out.push("# TYPE modelgate_http_responses_total counter");
    for (const [s, n] of [...this.#requests].sort()) out.push(`modelgate_http_responses_total{status="${s}"} ${n}`);
    return `${out.join("\n")}\n`;
  }
}
