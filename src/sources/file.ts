/**
 * Local files as {@link ByteSource}s.
 * @module
 */
import { type FileHandle, open } from "node:fs/promises";
import { ModelgateError, toModelgateError } from "../errors.js";
import type { ByteSource } from "./byte-source.js";

/** A {@link ByteSource} over a local file, read with positional reads (no whole-file loads). */
export class FileSource implements ByteSource {
  readonly size: number;
  readonly path: string;
  #handle: FileHandle | undefined;

  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.#handle = handle;
    this.size = size;
  }

  /**
   * Opens a regular file for reading.
   * @param path - file path
   */
  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, "r");
      const stat = await handle.stat();
      if (stat.size === 0) {
        // procfs and sysfs files say 0 bytes and still read data: what was never read is not empty.
        const probe = await handle.read(new Uint8Array(1), 0, 1, 0);
        if (probe.bytesRead > 0) {
          throw new ModelgateError(
            "IO",
            `${path} reports a size of 0 bytes but has content (a procfs/sysfs or growing file): it was not read`,
          );
        }
      }
      return new FileSource(path, handle, stat.size);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw toModelgateError(error);
    }
  }

  /** @inheritdoc */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    const n = Math.max(0, Math.min(length, this.size - start));
    if (n === 0 && this.#handle !== undefined) return new Uint8Array(0);
    const buffer = new Uint8Array(n);
    const filled = await this.readInto(start, buffer);
    return filled === n ? buffer : buffer.subarray(0, filled);
  }

  /** @inheritdoc */
  async readInto(offset: number, target: Uint8Array): Promise<number> {
    const handle = this.#handle;
    if (handle === undefined) throw toModelgateError(new Error(`file ${this.path} is closed`));
    const start = Math.min(Math.max(0, offset), this.size);
    const n = Math.max(0, Math.min(target.length, this.size - start));
    let filled = 0;
    try {
      while (filled < n) {
        const { bytesRead } = await handle.read(target, filled, n - filled, start + filled);
        if (bytesRead === 0) break; // the file shrank under us: return what we have
        filled += bytesRead;
      }
    } catch (error) {
      throw toModelgateError(error);
    }
    return filled;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
