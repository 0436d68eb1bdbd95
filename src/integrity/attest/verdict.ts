/**
 * Verdicts as attestations use them: which strings are verdicts, whether one is within a threshold
 * (the attester's pass threshold, a verifier's `maxVerdict`), and the checked `maxVerdict` option.
 * One place for the order (`VERDICTS`, best to worst, the scale the report ranks by too), so the
 * statement built, the statement parsed and the verifier's requirement cannot rank differently.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";
import { VERDICTS, type Verdict } from "../../core/severity.js";

/** Thresholds an attester may pass a scan at. */
export type PassThreshold = "clean" | "suspicious";

/**
 * Whether a value is a verdict.
 * @param value - anything read from a report, a statement or an option
 */
export function isVerdict(value: unknown): value is Verdict {
  return typeof value === "string" && (VERDICTS as readonly string[]).includes(value);
}

/**
 * Whether a value is a pass threshold (`clean` or `suspicious`).
 * @param value - anything read from options or a statement
 */
export function isPassThreshold(value: unknown): value is PassThreshold {
  return value === "clean" || value === "suspicious";
}

/**
 * Whether `verdict` is no worse than `worst`.
 * @param verdict - the verdict judged
 * @param worst - the worst verdict accepted
 */
export function verdictWithin(verdict: Verdict, worst: Verdict): boolean {
  return VERDICTS.indexOf(verdict) <= VERDICTS.indexOf(worst);
}

/**
 * A verdict option checked: the verdict, or a ModelgateError `INVALID_ARGUMENT` naming the option
 * and the verdicts it takes (the CLI shows the same text as a usage error).
 * @param value - the option's value
 * @param option - its name as the caller wrote it (`maxVerdict`, `--max-verdict`)
 * @throws ModelgateError
 */
export function verdictOption(value: unknown, option: string): Verdict {
  if (isVerdict(value)) return value;
  throw new ModelgateError("INVALID_ARGUMENT", `${option} must be one of ${VERDICTS.join(", ")}`);
}
