/**
 * Prometheus counters of the service, rendered in the text exposition format. The counters of
 * finished scans are kept in this process for in-process jobs, and in Redis for jobs run by
 * workers (see `RedisScanCounters`): `modelgate serve --redis` renders what every worker recorded.
 * @module
 */
import type { ScanReport } from "../report/schema.js";
import type { JobState } from "./types.js";

/** Upper bounds (seconds) of the scan duration histogram. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

/** Counters of finished scans: a total, or what one scan adds to it. */
export interface ScanCounters {
  /** Cumulative histogram counts, one per {@link DURATION_BUCKETS} bound (scans that took at most it). */
  readonly durationBuckets: readonly number[];
  /** Seconds of every finished scan, summed. */
  readonly durationSum: number;
  /** Finished scans. */
  readonly durationCount: number;
  /** Bytes of the files analysed (files answered from the cache excluded). */
  readonly bytesRead: number;
  /** Files in finished reports. */
  readonly filesScanned: number;
  /** Files answered from the verdict cache. */
  readonly cacheHits: number;
  /** Errors by code: scan errors (the reports' `errors`) and failed or retried attempts. */
  readonly errors: Readonly<Record<string, number>>;
}

/** Counters of no scan. */
export const NO_SCANS: ScanCounters = Object.freeze({
  durationBuckets: Object.freeze(DURATION_BUCKETS.map(() => 0)),
  durationSum: 0,
  durationCount: 0,
  bytesRead: 0,
  filesScanned: 0,
  cacheHits: 0,
  errors: Object.freeze({}),
});

/**
 * What one finished scan adds to the counters.
 * @param report - its report
 * @param seconds - how long it ran
 */
export function countersOf(report: ScanReport, seconds: number): ScanCounters {
  let bytesRead = 0;
  let cacheHits = 0;
  for (const file of report.files) {
    if (file.cached === true) cacheHits++;
    else bytesRead += file.size;
  }
  const errors: Record<string, number> = {};
  for (const e of report.errors) errors[e.code] = (errors[e.code] ?? 0) + 1;
  return {
    durationBuckets: DURATION_BUCKETS.map((le) => (seconds <= le ? 1 : 0)),
    durationSum: seconds,
    durationCount: 1,
    bytesRead,
    filesScanned: report.files.length,
    cacheHits,
    errors,
  };
}

/** Options of {@link Metrics}. */
export interface MetricsOptions {
  /**
   * Where the counters of finished scans come from when they are not counted here: the workers'
   * counters in Redis (`RedisScanCounters.read`). Errors counted here (API refusals) are added to
   * its errors.
   */
  readonly shared?: () => Promise<ScanCounters>;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** The service's counters, one set per process; with `shared`, the scans' counters are the workers'. */
export class Metrics {
  readonly #buckets = new Array<number>(DURATION_BUCKETS.length).fill(0);
  #durationSum = 0;
  #durationCount = 0;
  #bytesRead = 0;
  #filesScanned = 0;
  #cacheHits = 0;
  readonly #errors = new Map<string, number>();
  readonly #requests = new Map<string, number>();
  readonly #shared: (() => Promise<ScanCounters>) | undefined;

  /** @param options - where the scans' counters come from (default: this process) */
  constructor(options: MetricsOptions = {}) {
    this.#shared = options.shared;
  }

  /**
   * Records a finished scan run by this process.
   * @param report - its report
   * @param seconds - how long it ran
   */
  jobFinished(report: ScanReport, seconds: number): void {
    const c = countersOf(report, seconds);
    this.#durationSum += c.durationSum;
    this.#durationCount += c.durationCount;
    c.durationBuckets.forEach((n, i) => {
      this.#buckets[i]! += n;
    });
    this.#bytesRead += c.bytesRead;
    this.#filesScanned += c.filesScanned;
    this.#cacheHits += c.cacheHits;
    for (const [code, n] of Object.entries(c.errors)) this.#errors.set(code, (this.#errors.get(code) ?? 0) + n);
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

  /** The counters of this process. */
  local(): ScanCounters {
    return {
      durationBuckets: [...this.#buckets],
      durationSum: this.#durationSum,
      durationCount: this.#durationCount,
      bytesRead: this.#bytesRead,
      filesScanned: this.#filesScanned,
      cacheHits: this.#cacheHits,
      errors: Object.fromEntries(this.#errors),
    };
  }

  /**
   * The exposition text.
   * @param jobs - job counts by state (from the queue)
   */
  async render(jobs: Record<JobState, number>): Promise<string> {
    const local = this.local();
    let scans = local;
    let sharedUp: number | undefined;
    if (this.#shared !== undefined) {
      try {
        const shared = await this.#shared();
        const errors: Record<string, number> = { ...shared.errors };
        for (const [code, n] of Object.entries(local.errors)) errors[code] = (errors[code] ?? 0) + n;
        scans = { ...shared, errors };
        sharedUp = 1;
      } catch {
        sharedUp = 0;
      }
    }
    const out: string[] = [];
    out.push("# HELP modelgate_jobs Scan jobs by state (kept jobs only: finished ones expire with their results).");
    out.push("# TYPE modelgate_jobs gauge");
    for (const [state, n] of Object.entries(jobs)) out.push(`modelgate_jobs{state="${state}"} ${n}`);
    if (sharedUp !== undefined) {
      out.push("# HELP modelgate_worker_counters_up Whether the workers' counters could be read from Redis.");
      out.push("# TYPE modelgate_worker_counters_up gauge");
      out.push(`modelgate_worker_counters_up ${sharedUp}`);
    }
    out.push("# HELP modelgate_scan_duration_seconds Wall time of finished scans.");
    out.push("# TYPE modelgate_scan_duration_seconds histogram");
    DURATION_BUCKETS.forEach((le, i) => {
      out.push(`modelgate_scan_duration_seconds_bucket{le="${le}"} ${scans.durationBuckets[i] ?? 0}`);
    });
    out.push(`modelgate_scan_duration_seconds_bucket{le="+Inf"} ${scans.durationCount}`);
    out.push(`modelgate_scan_duration_seconds_sum ${scans.durationSum}`);
    out.push(`modelgate_scan_duration_seconds_count ${scans.durationCount}`);
    out.push("# HELP modelgate_bytes_read_total Bytes of files analysed (files answered from the cache excluded).");
    out.push("# TYPE modelgate_bytes_read_total counter");
    out.push(`modelgate_bytes_read_total ${scans.bytesRead}`);
    out.push("# HELP modelgate_files_scanned_total Files in finished reports.");
    out.push("# TYPE modelgate_files_scanned_total counter");
    out.push(`modelgate_files_scanned_total ${scans.filesScanned}`);
    out.push("# HELP modelgate_cache_hits_total Files answered from the verdict cache.");
    out.push("# TYPE modelgate_cache_hits_total counter");
    out.push(`modelgate_cache_hits_total ${scans.cacheHits}`);
    out.push("# HELP modelgate_errors_total Errors by code (scan errors, failed or retried attempts, API refusals).");
    out.push("# TYPE modelgate_errors_total counter");
    for (const [code, n] of Object.entries(scans.errors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      out.push(`modelgate_errors_total{code="${escapeLabel(code)}"} ${n}`);
    out.push("# HELP modelgate_http_responses_total HTTP answers by status.");
    out.push("# TYPE modelgate_http_responses_total counter");
    for (const [s, n] of [...this.#requests].sort()) out.push(`modelgate_http_responses_total{status="${s}"} ${n}`);
    return `${out.join("\n")}\n`;
  }
}
