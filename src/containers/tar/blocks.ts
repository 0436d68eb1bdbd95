/**
 * A read window over a tar archive: header reads are served from a larger window, so that an
 * archive of many small members costs few reads (both tar walks use it).
 * @module
 */
import { type ByteSource, readClamped } from "../../core/byte-source.js";

/** Serves header reads from a larger window so archives of small members need few reads. */
export class Blocks {
  readonly #source: ByteSource;
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);

  constructor(source: ByteSource) {
    this.#source = source;
  }

  /** `length` bytes at `offset`; a miss reads `prefetch` bytes so small members' headers share reads. */
  async get(offset: number, length: number, prefetch = length): Promise<Uint8Array> {
    if (offset >= this.#start && offset + length <= this.#start + this.#bytes.length) {
      return this.#bytes.subarray(offset - this.#start, offset - this.#start + length);
    }
    this.#start = offset;
    this.#bytes = await readClamped(this.#source, offset, Math.max(length, prefetch));
    return this.#bytes.subarray(0, Math.min(length, this.#bytes.length));
  }
}
