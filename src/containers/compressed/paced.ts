/**
 * The pacing shared by modelgate's own decoders (bzip2, LZMA-alone): a Transform that decodes
 * only while its output is being read. A few hundred bytes of input can hold gigabytes of output
 * (thousands of bzip2 blocks of runs, an LZMA stream of repeats); decoding all a write holds at
 * once kept it all in memory before the decompression budgets, which are charged as output is
 * read, could stop it (a 1.5 KB bzip2 file took 4 GB).
 * @module
 */
import { Transform, type TransformCallback } from "node:stream";

/** A Transform that decodes its input in steps, each only while little output waits to be read. */
export abstract class PacedTransform extends Transform {
  /** The callback of the input (or of the end) being decoded: held, so no more input comes meanwhile. */
  #held: { callback: TransformCallback; final: boolean } | undefined;
  #busy = false;

  /** Adds an input chunk (throws on input that cannot be taken). */
  protected abstract takeInput(chunk: Uint8Array): void;

  /**
   * Decodes in steps, pushing output, and returns true when it needs more input or the input is
   * used up, false when it stopped because {@link PacedTransform.outputFull}.
   * @param final - the input has ended
   */
  protected abstract decodeSome(final: boolean): boolean;

  /** Once the input ended and is decoded: throws when the stream is incomplete. */
  protected abstract checkEnd(): void;

  /** Whether enough output waits to be read to stop decoding until it is. */
  protected get outputFull(): boolean {
    return this.readableLength >= this.readableHighWaterMark;
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.takeInput(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.#held = { callback, final: false };
    this.#resume();
  }

  override _flush(callback: TransformCallback): void {
    this.#held = { callback, final: true };
    this.#resume();
  }

  override _read(size: number): void {
    this.#resume();
    // After resuming: when that handed the input's callback back while output waits, Transform
    // keeps it for its next _read, and a _read that pushes nothing is not called again (the
    // stream waits for a push), so hand it on now. It brings the next input.
    super._read(size);
  }

  /** Goes on decoding the held input; hands back its callback once it is used up (or failed). */
  #resume(): void {
    const held = this.#held;
    if (held === undefined || this.#busy) return;
    this.#busy = true;
    let usedUp: boolean;
    try {
      usedUp = this.decodeSome(held.final);
      if (usedUp && held.final) this.checkEnd();
    } catch (error) {
      this.#held = undefined;
      this.#busy = false;
      held.callback(error as Error);
      return;
    }
    this.#busy = false;
    if (!usedUp) return;
    this.#held = undefined;
    held.callback();
  }
}
