/**
 * Canonical fingerprints of R closures as the walk reads them: every item of a closure's formals
 * and body (attributes included) adds tokens to one hash, in reading order: its type, its scalar
 * content (symbol names, strings, every element of a numeric vector, a bytecode's code integers and
 * constant pool). A symbol counts by its name whether it is written whole or as a reference, so
 * the fingerprint is the same wherever the closure sits in a stream and whatever the encoding (XDR,
 * native, ASCII). For a compiled body the whole BCODESXP counts, since R runs the bytecode, not the
 * expression in its pool. What the walk cannot hash whole (a string longer than it keeps, an
 * environment, promise or closure inside the code) leaves the closure without a fingerprint, so it
 * is never recognised.
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** Elements of a numeric vector read to fingerprint it (a longer one fails the fingerprint). */
export const FP_VECTOR_CAP = 1 << 16;

/** Characters of tokens buffered before they go to the hash. */
const FLUSH = 1 << 14;

/** The tokens of one closure being read. */
export class FpSink {
  readonly #hash: Hash = createHash("sha256");
  #buf = "";
  #ok = true;

  /** Whether tokens still count (no part failed). */
  get live(): boolean {
    return this.#ok;
  }

  /** Adds one token: a kind and its text, length-prefixed so no two sequences read alike. */
  add(kind: string, text = ""): void {
    if (!this.#ok) return;
    this.#buf += `${kind}${text.length}:${text}`;
    if (this.#buf.length >= FLUSH) {
      this.#hash.update(this.#buf);
      this.#buf = "";
    }
  }

  /** Marks the closure as not hashable. */
  fail(): void {
    this.#ok = false;
  }

  /** The fingerprint, or undefined when a part could not be hashed. */
  digest(): string | undefined {
    if (!this.#ok) return undefined;
    this.#hash.update(this.#buf);
    return this.#hash.digest("base64url");
  }
}
