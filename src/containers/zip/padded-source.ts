/**
 * A byte source of a given size made of some bytes followed by zeros, without holding the zeros:
 * what PyTorch reads from a member miniz fails to decode part-way (the bytes decoded, then its
 * buffer's uninitialised rest, modelled as zeros). Holding a declared-size buffer of zeros cost
 * up to 64 MiB per junk member, bytes nothing had decoded.
 * @module
 */
import { BufferSource, type ByteSource } from "../../core/byte-source.js";

/** `head`, then zeros up to `size` bytes. */
class ZeroPaddedSource implements ByteSource {
  constructor(
    private readonly head: Uint8Array,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    const end = Math.min(this.size, start + Math.max(0, length));
    const out = new Uint8Array(end - start);
    if (start < this.head.length) out.set(this.head.subarray(start, Math.min(end, this.head.length)));
    return out;
  }
}

/**
 * `head` followed by zeros up to `size` bytes (`head` alone when it fills them).
 * @param head - the bytes at the start
 * @param size - the source's size (at least `head.length`)
 */
export function zeroPadded(head: Uint8Array, size: number): ByteSource {
  return head.length >= size ? new BufferSource(head) : new ZeroPaddedSource(head, size);
}
