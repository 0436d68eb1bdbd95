/**
 * What `RepoContext.openFile` hands a repository analyzer when it opens a file again: the bytes
 * the file pass analysed, not whatever the root serves the second time. A remote store can answer
 * a second request with other bytes (an object overwritten, a server that lies), a local file can
 * be rewritten in place; a repository analyzer that read such a copy would judge content nobody
 * analysed (and a failed second read must never make a finding disappear).
 *
 * A file whose SHA-256 the file pass computed over every byte is read again whole (it is small:
 * repository analyzers read configs, manifests, requirement lists, licences) and handed out from
 * memory only when its digest is the same; otherwise the re-read fails with a
 * {@link FileChangedError}. A larger file of a remote root, which could not be checked without a
 * second full download, is refused (`BUDGET_EXCEEDED`); a local one, and any file the file pass
 * has no digest for, is served by the root's own pinned open (device, inode and size of the
 * listing; an ETag, version or commit for remote roots).
 * @module
 */
import { BufferSource, type ByteSource, readChunks } from "../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../core/errors.js";
import { createSha256 } from "../core/sha256.js";
import { GuardedSource } from "../sources/byte-source.js";
import { FileChangedError, FileSource } from "../sources/file.js";

/** Largest file read again whole and checked against the file pass's digest. */
export const REREAD_VERIFIED_BYTES = 16 * 1024 * 1024;

/** What the file pass knew of a file. */
export interface FilePassRecord {
  /** The file's path. */
  readonly path: string;
  /** Its size as listed and analysed. */
  readonly size: number;
  /** Its SHA-256 over every byte the file pass read, when it computed one. */
  readonly sha256: string | undefined;
  /** Whether the root is a local directory or file (read again cheaply, pinned by inode). */
  readonly local: boolean;
}

/**
 * Turns a freshly opened source into what a repository analyzer may read: the bytes of the file
 * pass (checked against its digest) or the pinned source itself when no check is possible. Takes
 * ownership of `source` (closed here unless it is returned).
 * @param source - the root's new open of the file (already guarded with the read deadline)
 * @param file - what the file pass knew of it
 * @param signal - the re-read's deadline
 * @throws FileChangedError when the bytes (or size) are not those analysed
 * @throws ModelgateError `BUDGET_EXCEEDED` for a large remote file that cannot be checked
 */
export async function verifiedReread(
  source: ByteSource,
  file: FilePassRecord,
  signal: AbortSignal,
): Promise<ByteSource> {
  let handedOut = false;
  try {
    if (source.size !== file.size) {
      throw new FileChangedError(file.path, `analysed with ${file.size} bytes, opened again with ${source.size}`);
    }
    if (file.sha256 === undefined) {
      handedOut = true;
      return source;
    }
    checkRereadable(file);
    if (file.size > REREAD_VERIFIED_BYTES) {
      handedOut = true; // local: pinned by the listed device, inode and size
      return source;
    }
    const bytes = await readWhole(source, file, signal);
    const hash = createSha256();
    hash.update(bytes);
    const digest = hash.digest();
    if (digest !== file.sha256) {
      throw new FileChangedError(
        file.path,
        `opened again for the repository analysis, its bytes are not those analysed (SHA-256 ${digest}, analysed ${file.sha256})`,
      );
    }
    // a local file rewritten while it was read here, whatever its digest came out as
    const inner = raw(source);
    if (inner instanceof FileSource) {
      const changed = await inner.changes();
      if (changed !== undefined) throw new FileChangedError(file.path, changed);
    }
    return new BufferSource(bytes);
  } finally {
    if (!handedOut) await source.close?.().catch(() => undefined);
  }
}

/**
 * Refuses, before anything is fetched, a remote file too large to be read again and checked.
 * @param file - what the file pass knew of it
 * @throws ModelgateError `BUDGET_EXCEEDED`
 */
export function checkRereadable(file: FilePassRecord): void {
  if (file.local || file.sha256 === undefined || file.size <= REREAD_VERIFIED_BYTES) return;
  throw new ModelgateError(
    "BUDGET_EXCEEDED",
    `${file.path}: ${file.size} bytes, over the ${REREAD_VERIFIED_BYTES} bytes a repository analyzer may read again from a remote root (it could not be checked against the bytes analysed without downloading it again)`,
    { budget: "rereadBytes" },
  );
}

/** Sources wrapped by the engine keep what they wrap here, for the local-file check. */
const INNER = new WeakMap<ByteSource, ByteSource>();

/**
 * Guards a source for a repository analyzer (deadline, read budget, typed errors), remembering
 * what it wraps.
 * @param inner - the root's source
 * @param options - the guard's options
 */
export function guardReread(inner: ByteSource, options: ConstructorParameters<typeof GuardedSource>[1]): ByteSource {
  const guarded = new GuardedSource(inner, options);
  INNER.set(guarded, inner);
  return guarded;
}

function raw(source: ByteSource): ByteSource {
  return INNER.get(source) ?? source;
}

/** Reads the whole source; a source that ends early or runs long changed since the file pass. */
async function readWhole(source: ByteSource, file: FilePassRecord, signal: AbortSignal): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  let at = 0;
  try {
    for await (const chunk of readChunks(source, { chunkSize: 4 << 20 })) {
      signal.throwIfAborted();
      if (at + chunk.length > out.length) throw new FileChangedError(file.path, "it is longer than when analysed");
      out.set(chunk, at);
      at += chunk.length;
    }
  } catch (error) {
    if (isModelgateError(error, "TRUNCATED")) {
      throw new FileChangedError(file.path, `it ended after ${at} of the ${file.size} bytes analysed`);
    }
    throw error;
  }
  return out;
}
