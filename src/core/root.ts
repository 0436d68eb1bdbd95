/**
 * What a scan root is: where the files of a scan come from (a directory, one file, a buffer, a
 * remote repository), how they are listed and opened, and how a root vouches for their integrity.
 * @module
 */
import type { ByteSource } from "./byte-source.js";
import type { ErrorCode } from "./errors.js";
import type { FindingInput } from "./findings.js";

/*
 * What was scanned and how a remote file's integrity was checked, as the report records them
 * (`TargetSchema` and `FileIntegritySchema` in `src/report/schema.ts` validate them; a type test
 * keeps each equal to its schema). They are here because scan roots produce them.
 */

/** The Hugging Face Hub repository a scan read. */
export interface HubTargetInfo {
  /** `owner/name` for a model, `datasets/owner/name` or `spaces/owner/name` otherwise. */
  repo: string;
  /** The repository's type (absent in reports of earlier versions: a model). */
  repoType?: "model" | "dataset" | "space" | undefined;
  /** The revision asked for (branch, tag or commit). */
  revision: string;
  /** The commit it resolved to, which every read was pinned to. */
  commit: string;
  /** Paths the scan was restricted to. */
  paths?: string[] | undefined;
  /** HTTP requests sent (retries included). */
  requests?: number | undefined;
  /** Response body bytes received, listings included. */
  bytesTransferred?: number | undefined;
  /** The Hub's own scan status for the repository, for information only: it never clears a file. */
  securityStatus?: Record<string, unknown> | undefined;
}

/** The URL an `https://` target read. */
export interface HttpTargetInfo {
  /** The URL, without user info, fragment or credential-like query values. */
  url: string;
  /** The strong ETag every read was checked against. */
  etag?: string | undefined;
  /** The Last-Modified date every read was checked against. */
  lastModified?: string | undefined;
  /** The pinned SHA-256 (`#sha256=`, `sha256` or `pins`); `files[].integrity` says whether it held. */
  sha256?: string | undefined;
  /** HTTP requests sent (retries and redirects included). */
  requests?: number | undefined;
  /** Response body bytes received. */
  bytesTransferred?: number | undefined;
}

/** The S3 bucket and prefix an `s3://` target read. */
export interface S3TargetInfo {
  /** Bucket name. */
  bucket: string;
  /** The key prefix listed (empty for the whole bucket). */
  prefix: string;
  /** Version id of each object read, by path, when the bucket is versioned. */
  versionIds?: Record<string, string> | undefined;
  /** S3 requests sent (listing pages included). */
  requests?: number | undefined;
  /** Object bytes received. */
  bytesTransferred?: number | undefined;
}

/** A manifest of an OCI index, as scanned. */
export interface OciScannedManifest {
  /** Its digest. */
  digest: string;
  /** Its media type. */
  mediaType: string;
  /** The report folder its files are under (`linux-amd64`, `sha256-<hex>`). */
  path: string;
  /** `os/arch[/variant]` of its index entry, when it has one. */
  platform?: string | undefined;
  /** Its `artifactType` (or, for older artifacts, its config media type). */
  artifactType?: string | undefined;
}

/** The OCI artifact an `oci://` (or `oci-layout:`) target read. */
export interface OciTargetInfo {
  /** `host[:port]` of the registry (empty for an image layout). */
  registry: string;
  /** Repository path (empty for an image layout). */
  repository: string;
  /** The tag or digest asked for (for a layout: its `ref.name`, or empty). */
  reference: string;
  /** The digest the reference resolved to: every read was pinned to it. */
  digest: string;
  /** Media type of that manifest or index. */
  mediaType: string;
  /** The manifest scanned, when the reference resolved to an index. */
  manifestDigest?: string | undefined;
  /** Platform of that manifest in the index (`linux/amd64`), when it has one. */
  platform?: string | undefined;
  /** The manifest's `artifactType` (or, for older artifacts, its config media type). */
  artifactType?: string | undefined;
  /** Every manifest scanned, when the reference resolved to an index: each one's files are under `path/`. */
  manifests?: OciScannedManifest[] | undefined;
  /** The image-layout directory, for a layout. */
  layout?: string | undefined;
  /** HTTP requests sent (token requests, retries and redirects included). */
  requests?: number | undefined;
  /** Response body bytes received. */
  bytesTransferred?: number | undefined;
}

/** What was scanned. */
export interface Target {
  /** The kind of target `scan` was given. */
  kind: "file" | "directory" | "bytes" | "source" | "hub" | "url" | "s3" | "oci";
  /** Its path, name or URI. */
  name: string;
  /** The repository, for a Hub target. */
  hub?: HubTargetInfo | undefined;
  /** The URL, for an `https://` target. */
  http?: HttpTargetInfo | undefined;
  /** The bucket and prefix, for an `s3://` target. */
  s3?: S3TargetInfo | undefined;
  /** The artifact and the digest it resolved to, for an `oci://` or `oci-layout:` target. */
  oci?: OciTargetInfo | undefined;
}

/** How far a remote file's bytes were checked against the digest its source pins. */
export interface FileIntegrity {
  /**
   * `verified`: the whole file was read and matched the pinned digest; `partial`: only the bytes
   * the analyzers needed were read, so the digest was not checked; `mismatch`: the served bytes
   * contradict the pinned digest, size or headers.
   */
  status: "verified" | "partial" | "mismatch";
  /** How the pinned digest is computed. */
  algorithm: "sha256" | "git-blob-sha1";
  /** The pinned digest (lowercase hex). */
  expected: string;
  /** The digest of the bytes served, when they were all read. */
  actual?: string | undefined;
  /** Bytes of this file transferred over the network. */
  bytesFetched: number;
}

/** One entry of a scan root's listing. */
export interface RootEntry {
  /** POSIX path relative to the root. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Regular file, symbolic link (never followed), something else (device, FIFO, socket), an
   * entry that could not be listed (`error` says why), or a folder the walk did not descend into
   * (`skipped` says why).
   */
  readonly kind: "file" | "symlink" | "special" | "unreadable" | "skipped";
  /** Why the entry could not be listed, for `unreadable`. */
  readonly error?: string;
  /** Error code for `unreadable` (default `IO`; `BUDGET_EXCEEDED` for a listing budget). */
  readonly errorCode?: ErrorCode;
  /** Link target, for symlinks. */
  readonly linkTarget?: string;
  /**
   * For `skipped` folders: `vcs` (the scanned directory's own `.git`, which no loader
   * reads) or `depth` (deeper than `limits.maxDirectoryDepth`: its content was not seen).
   */
  readonly skipped?: "vcs" | "depth";
  /** For `skipped` `vcs` folders: entries found below it (capped, see `skippedMore`). */
  readonly skippedEntries?: number;
  /** For `skipped` `vcs` folders: true when there were more entries than `skippedEntries`. */
  readonly skippedMore?: boolean;
  /**
   * SHA-256 of the content as the root's metadata claims it before anything is read (a Hub LFS
   * oid). It is not a verified digest: a verdict cache hit under it is only used once the bytes
   * served are read whole and match it, unless `sha256Trusted` is set.
   */
  readonly sha256?: string;
  /**
   * The root vouches that reading this entry yields exactly the content `sha256` names (the caller
   * trusts the Hub's content addressing, `hub.trustListedDigests`): cache hits under `sha256`
   * answer without reading, and results of partial reads are cached under a key derived from it
   * (never the plain digest key that other roots and local scans look up).
   */
  readonly sha256Trusted?: boolean;
  /** Device of the file as the listing saw it (`lstat`); a file opened later must match it. */
  readonly dev?: bigint;
  /** Inode of the file as the listing saw it (`lstat`); a file opened later must match it. */
  readonly ino?: bigint;
}

/** Options of {@link ScanRoot.open}. */
export interface OpenOptions {
  /** The file's deadline (and caller abort): an open that has not finished by then fails. */
  signal?: AbortSignal;
  /**
   * The entry as listed: the opened file must still be it (same device, inode and size for local
   * files), or the open fails with a "changed during the scan" error.
   */
  entry?: RootEntry;
}

/** What a root that checks its own files' integrity says about one file after its analysis. */
export interface FileVerification {
  /** SHA-256 of the bytes served, when they were all read and hashed. */
  sha256?: string;
  /** Findings about the file's integrity or provenance. */
  findings?: FindingInput[];
  /** Integrity record for the file's report. */
  integrity?: FileIntegrity;
  /**
   * False when the bytes analysed are known not to be the content the entry's digest names (a
   * mismatch): the verdict is then not cached under that digest.
   */
  cacheable?: boolean;
}

/** Where the files of a scan come from: a directory, one file, a buffer, a remote repository. */
export interface ScanRoot {
  /** What kind of target this is. */
  readonly target: Target;
  /** The local directory on disk, when the root is one (for symlink resolution and signatures). */
  readonly localDir?: string;
  /** Lists the files, in a stable order. */
  list(signal: AbortSignal): AsyncIterable<RootEntry>;
  /**
   * Optional: releases what the root holds (a downloaded copy, a client) once the scan is over.
   * The engine calls it after the report is assembled, also when the scan failed.
   */
  close?(): Promise<void>;
  /**
   * Opens a listed file.
   * @param path - a path from {@link ScanRoot.list}
   * @param options - deadline, and the entry as listed (to check the file is still that one)
   */
  open(path: string, options?: OpenOptions): Promise<ByteSource>;
  /**
   * Optional: checks a file's integrity after its analysis and supplies its digest. When present,
   * the engine calls it instead of hashing the file itself (a remote root hashes what it fetched,
   * and reads the rest only when asked to verify fully).
   * @param path - the file, as listed
   * @param source - the source {@link ScanRoot.open} returned for it (still open)
   * @param signal - the file's abort signal (caller abort and time budget)
   * @param options - `full`: read whatever was not read yet so the digest is complete (the engine
   *   asks for it to confirm a verdict cache hit under a claimed digest)
   */
  verifyFile?(
    path: string,
    source: ByteSource,
    signal: AbortSignal,
    options?: { full?: boolean },
  ): Promise<FileVerification>;
}
