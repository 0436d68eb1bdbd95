/**
 * The pickle engine's error: a {@link ModelgateError} that always has an offset and says which of
 * the three ways a reading ends it is (the kind shown in `pickle/malformed` evidence).
 * @module
 */
import { type ErrorCode, isModelgateError, ModelgateError } from "../../core/errors.js";

/** How a pickle reading ended: the stream stops early, breaks a rule, or exceeds a budget. */
type Kind = PickleError["kind"];

/** The error code of each kind. */
const CODE: { readonly [K in Kind]: ErrorCode } = Object.freeze({
  truncated: "TRUNCATED",
  malformed: "MALFORMED",
  budget: "BUDGET_EXCEEDED",
});

/** A structural error CPython would raise, at an offset. */
export class PickleError extends ModelgateError {
  /** Absolute offset of the offending opcode. */
  declare readonly offset: number;
  /** `truncated` (code `TRUNCATED`), `malformed` (`MALFORMED`) or `budget` (`BUDGET_EXCEEDED`). */
  readonly kind: "truncated" | "malformed" | "budget";

  /**
   * @param message - what CPython would complain about
   * @param offset - absolute offset of the offending opcode
   * @param kind - `truncated`, `budget` or `malformed`
   * @param budget - the budget name, for `budget`
   */
  constructor(
    message: string,
    offset: number,
    kind: "truncated" | "malformed" | "budget" = "malformed",
    budget?: string,
  ) {
    super(CODE[kind], message, budget === undefined ? { offset } : { offset, budget });
    this.name = "PickleError";
    this.kind = kind;
  }

  /** The stream reads differently from a file object without `peek` (see `DecodeResult.rereads`). */
  rereads = false;

  /**
   * The error that ends a pickle's reading, as a PickleError: a PickleError as it is; an exceeded
   * budget or a truncation of the reads beneath (`BUDGET_EXCEEDED`, `TRUNCATED`) at its offset, or
   * `at` when it has none; `undefined` for anything else.
   * @param error - what the reading threw
   * @param at - the input's offset when it threw
   */
  static from(error: unknown, at: number): PickleError | undefined {
    if (error instanceof PickleError) return error;
    if (isModelgateError(error, "BUDGET_EXCEEDED")) {
      return new PickleError(error.message, error.offset ?? at, "budget", error.budget);
    }
    if (isModelgateError(error, "TRUNCATED")) return new PickleError(error.message, error.offset ?? at, "truncated");
    return undefined;
  }
}
