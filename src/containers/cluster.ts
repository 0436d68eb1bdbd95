/**
 * Shared reads for containers of many small members: one read of a member's neighbourhood serves
 * the next members too, so an archive of 100k small files costs tens of reads, not 100k.
 * @module
 */
import { type ByteSource, readClamped } from "../core/byte-source.js";

/** Members up to this stored size are read together with their neighbours. */
export const SMALL_MEMBER = 64 * 1024;
/** Largest shared read. */
export const CLUSTER_BYTES = 1024 * 1024;

/** Where a member's stored bytes are (`start` -1 when unknown). */
export interface MemberSpan {
  /** First byte in the container (-1: not readable). */
  readonly start: number;
  /** Stored size. */
  readonly size: number;
}

/**
 * For each small member, where the run of small members starting at it ends (at most
 * {@link CLUSTER_BYTES} later): the extent of one shared read. Large or unreadable members get 0.
 * @param spans - members, by index
 */
export function smallMemberClusters(spans: readonly MemberSpan[]): Float64Array {
  const ends = new Float64Array(spans.length);
  const order = spans
    .map((span, index) => ({ ...span, index }))
    .filter((m) => m.start >= 0 && m.size <= SMALL_MEMBER)
    .sort((a, b) => a.start - b.start);
  let runEnd = 0;
  for (let i = order.length - 1; i >= 0; i--) {
    const m = order[i] as (typeof order)[number];
    const end = m.start + m.size;
    const next = order[i + 1];
    const contiguous = next !== undefined && next.start - end <= 4096;
    runEnd = contiguous ? Math.max(runEnd, end) : end;
    ends[m.index] = Math.min(runEnd, m.start + CLUSTER_BYTES);
  }
  return ends;
}

/** One cached window of the container, refilled with a member's cluster on a miss. */
export class ClusterReader {
  readonly #source: ByteSource;
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);

  /** @param source - the container */
  constructor(source: ByteSource) {
    this.#source = source;
  }

  /**
   * `length` bytes at `offset` (a view into the cached window), reading through `until` on a miss.
   * @param offset - first byte
   * @param length - bytes wanted
   * @param until - end of the member's cluster
   */
  async bytes(offset: number, length: number, until: number): Promise<Uint8Array> {
    if (offset < this.#start || offset + length > this.#start + this.#bytes.length) {
      this.#start = offset;
      this.#bytes = await readClamped(this.#source, offset, Math.max(length, until - offset));
    }
    return this.#bytes.subarray(offset - this.#start, offset - this.#start + length);
  }
}
