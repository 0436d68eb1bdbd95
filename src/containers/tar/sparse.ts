/**
 * The content of a sparse tar member as Python's `tarfile` extracts it (`TarFile.makefile`):
 * a file of the member's real size, zero where the map has holes; every map segment `(offset,
 * numbytes)` in map order copies the next `numbytes` stored bytes to `offset` (a later segment
 * overwrites an earlier one), and the file is cut at the real size. The bytes are assembled
 * lazily on read, so a member of mostly holes costs no memory.
 * @module
 */
import { type ByteSource, readClamped } from "../../core/byte-source.js";

/** One sparse segment: `length` bytes of the real file at `at`, stored at `from` in the archive. */
export interface SparseSegment {
  readonly at: number;
  readonly length: number;
  readonly from: number;
}

/** Segments of a sparse map, stored consecutively from `dataOffset`. */
export function sparseSegments(
  map: readonly (readonly [number, number])[],
  dataOffset: number,
): { segments: SparseSegment[]; storedEnd: number; ordered: boolean } {
  const segments: SparseSegment[] = [];
  let from = dataOffset;
  let end = 0;
  let ordered = true;
  for (const [at, length] of map) {
    if (length <= 0) continue;
    if (at < end) ordered = false;
    segments.push({ at, length, from });
    from += length;
    end = at + length;
  }
  return { segments, storedEnd: from, ordered };
}

/** A sparse member rebuilt over the archive (see the module comment). */
export class SparseSource implements ByteSource {
  readonly size: number;
  readonly #archive: ByteSource;
  readonly #segments: readonly SparseSegment[];
  readonly #ordered: boolean;

  /**
   * @param archive - the tar archive
   * @param segments - the map (see {@link sparseSegments})
   * @param ordered - whether segments ascend without overlap (reads then search instead of scan)
   * @param size - the member's real size
   */
  constructor(archive: ByteSource, segments: readonly SparseSegment[], ordered: boolean, size: number) {
    this.#archive = archive;
    this.#segments = segments;
    this.#ordered = ordered;
    this.size = Math.max(0, size);
  }

  /** @inheritdoc */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    const end = Math.min(this.size, start + Math.max(0, length));
    const out = new Uint8Array(end - start);
    if (out.length === 0) return out;
    let first = 0;
    if (this.#ordered) {
      // the first segment that ends after `start`
      let lo = 0;
      let hi = this.#segments.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const s = this.#segments[mid] as SparseSegment;
        if (s.at + s.length <= start) lo = mid + 1;
        else hi = mid;
      }
      first = lo;
    }
    for (let i = first; i < this.#segments.length; i++) {
      const s = this.#segments[i] as SparseSegment;
      if (this.#ordered && s.at >= end) break;
      const a = Math.max(s.at, start);
      const b = Math.min(s.at + s.length, end);
      if (a >= b) continue;
      const bytes = await readClamped(this.#archive, s.from + (a - s.at), b - a);
      out.set(bytes, a - start);
    }
    return out;
  }
}
