/**
 * Format ids (each declared by its format module) and what the sniffer says about some bytes.
 * @module
 */

/**
 * The format ids, as keys. Only `empty` (a zero-byte file) and `unknown` (content that matches
 * nothing the scanner knows) are declared here: each format module declares its own ids by
 * declaration merging (`declare module ".../core/formats.js" { interface FormatRegistry { ... } }`
 * in its `index.ts`), and the registry (`src/registry/`) derives the report's `format` enum from
 * the modules it lists.
 */
export interface FormatRegistry {
  /** A zero-byte file. */
  empty: true;
  /** Content that matches nothing the scanner knows. */
  unknown: true;
}

/** A recognised format. */
export type Format = keyof FormatRegistry & string;

/** A format recognised in some bytes, and where it starts. */
export interface Detection {
  /** The format. */
  readonly format: Format;
  /** Byte offset where that format's data begins (non-zero for prepended data). */
  readonly offset: number;
  /** Short explanation of what matched (for evidence). */
  readonly reason: string;
  /**
   * Set on a pickle reading asked for by a claim rather than found by the sniffer alone
   * (`src/formats/claims.ts`): `strong` readings that fail make the stream `invalid`; `weak` ones
   * are speculative (only their dangerous findings count when the stream turns out not to parse);
   * `beside` readings run beside another format positively recognised at the same bytes (only
   * their dangerous findings count, and the stream keeps that format).
   */
  readonly claim?: "strong" | "weak" | "beside";
}
