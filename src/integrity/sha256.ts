/**
 * Streaming SHA-256 of a ByteSource (the engine's default file digest).
 * @module
 */
import { createHash } from "node:crypto";
import { type ByteSource, readChunks } from "../sources/byte-source.js";

/**
 * Hashes a whole source with SHA-256, reading it in 4 MiB chunks.
 * @param source - the bytes
 * @param signal - aborts the hashing
 * @param onBytes - called with the running byte count
 * @returns lowercase hex digest
 */
export async function sha256OfSource(
  source: ByteSource,
  signal?: AbortSignal,
  onBytes?: (done: number) => void,
): Promise<string> {
  const hash = createHash("sha256");
  let done = 0;
  for await (const chunk of readChunks(source, { chunkSize: 4 << 20 })) {
    signal?.throwIfAborted();
    hash.update(chunk);
    done += chunk.length;
    onBytes?.(done);
  }
  return hash.digest("hex");
}
