/**
 * The scan service's vocabulary: what a job is, its states, and the queue both the in-process
 * runner and the Redis/BullMQ queue implement.
 * @module
 */
import type { PolicyOptions } from "../policy/policy.js";
import type { ScanReport } from "../report/schema.js";

/** Options a client may choose; the server clamps them to its caps (never beyond). */
export interface JobOptions {
  /**
   * Remote targets: verify the files read whole (`read`) or read every file whole (`full`);
   * `default`: each source's default (full for OCI, read for the Hub, S3 and URLs).
   */
  readonly verify: "read" | "full" | "default";
  /** Compute each file's SHA-256 (default true; the verdict cache needs it). */
  readonly hash: boolean;
  /** Whole-scan deadline in milliseconds (at most the server's cap). */
  readonly timeoutMs: number;
  /** Files analysed at once (at most the server's cap). */
  readonly concurrency: number;
}

/** What kind of target a job scans. */
export type TargetKind = "local" | "remote" | "upload";

/** One scan job as queued: everything a worker needs, nothing a client may use to reach further. */
export interface ScanJobData {
  /** The target: a resolved absolute path (local, upload) or a remote URI as given. */
  readonly target: string;
  /** What the target is. */
  readonly kind: TargetKind;
  /** For uploads: the client's file name (reports show it) and the SHA-256 of the body. */
  readonly upload?: { readonly name: string; readonly sha256: string; readonly size: number };
  /** The inline policy (validated; no `limits`, no `source`), when the client sent one. */
  readonly policy?: PolicyOptions;
  /** `ResolvedPolicy.hash` of the policy the job runs under. */
  readonly policyHash: string;
  /** Clamped options. */
  readonly options: JobOptions;
  /** Milliseconds since the epoch when the job was first submitted. */
  readonly submittedAt: number;
  /** Random id of the submission that queued it (tells a submitter whether it won the id). */
  readonly submission?: string;
}

/** A job's state. */
export type JobState = "queued" | "running" | "completed" | "failed";

/** Progress of a running job. */
export interface JobProgress {
  /** Files listed so far (0 before the listing). */
  readonly filesTotal: number;
  /** Files finished. */
  readonly filesDone: number;
  /** Bytes processed of the file being analysed. */
  readonly bytesDone: number;
  /** Path being analysed (empty when none). */
  readonly path: string;
}

/** What `status` answers. */
export interface JobStatus {
  /** Job id. */
  readonly id: string;
  /** Current state. */
  readonly state: JobState;
  /** Progress (zeros until the scan starts). */
  readonly progress: JobProgress;
  /** How many attempts ran (retries of transient errors). */
  readonly attempts: number;
  /** The target as queued (uploads: `upload:<name>`). */
  readonly target: string;
  /** Why the job failed, for `failed`. */
  readonly error?: { readonly code: string; readonly message: string };
  /** When it was submitted (ISO 8601). */
  readonly submittedAt: string;
  /** When it finished (ISO 8601). */
  readonly finishedAt?: string;
  /** Which worker completed it (`host:pid`; Redis queue only). */
  readonly worker?: string;
  /** The report's verdict, once completed. */
  readonly verdict?: ScanReport["verdict"];
}

/** What `submit` answers. */
export interface SubmitResult {
  /** The job id (a duplicate submission gets the id of the scan already queued, running or kept). */
  readonly id: string;
  /** Whether a job with this id already existed (nothing new was queued). */
  readonly duplicate: boolean;
}

/** A job event, as `events()` yields them. */
export interface JobEvent {
  /** What happened. */
  readonly type: "queued" | "running" | "progress" | "completed" | "failed";
  /** Job id. */
  readonly id: string;
}

/** A queue of scans: the in-process runner and the Redis queue implement it. */
export interface ScanQueue {
  /**
   * Queues a scan (or finds the one already queued for the same content, policy and version).
   * @param job - the job, built by `prepareJob`
   * @param identity - what the job id derives from (`jobIdentity`)
   */
  submit(job: ScanJobData, identity: JobIdentity): Promise<SubmitResult>;
  /** The job's status, or undefined when unknown (never submitted or expired). */
  status(id: string): Promise<JobStatus | undefined>;
  /** The job's report once completed, else undefined. */
  result(id: string): Promise<ScanReport | undefined>;
  /** Job counts by state, for metrics. */
  counts(): Promise<Record<JobState, number>>;
  /** Job events until the iterator is returned or the queue closed. */
  events(): AsyncIterable<JobEvent>;
  /** Stops accepting jobs; in-process queues wait for running scans. */
  close(): Promise<void>;
}

/** What a job id derives from. */
export interface JobIdentity {
  /**
   * The content: `commit:<repo>@<commit>[/path]` for a Hub target pinned to a commit,
   * `sha256:<hex>` for an upload or a URL/OCI target pinned by digest, else `name:<target>`.
   */
  readonly content: string;
  /**
   * Whether the content is pinned. An unpinned target (a local path, a branch) is deduplicated
   * only while a scan of it is queued or kept: once it finished, a new submission scans again.
   */
  readonly pinned: boolean;
}
