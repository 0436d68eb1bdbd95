/**
 * Options that take several values (`--certificate-chain a.pem b.pem`), on top of `util.parseArgs`,
 * which only knows repeated options.
 * @module
 */

/** A token of `parseArgs({ tokens: true })`, as far as this module reads it. */
export type ArgToken =
  | { kind: "option"; name: string; value?: string | undefined; inlineValue?: boolean | undefined }
  | { kind: "positional"; value: string }
  | { kind: "option-terminator" };

/**
 * Moves the positionals that directly follow a variadic option's value to that option: with
 * `--ignore-paths a b c`, `b` and `c` join `a`. A variadic option cannot swallow the command's
 * own operands: when fewer than `required` positionals are left, the last values taken this way
 * go back to the positionals, so `verify --certificate-chain a.pem b.pem model/` verifies `model/`
 * with two certificates. `--` ends a variadic option's values (and every option).
 * @param tokens - parseArgs tokens
 * @param variadic - names of the variadic options
 * @param required - how many positionals the command needs (default 0)
 * @returns the extra values per option and the remaining positionals
 */
export function splitVariadic(
  tokens: readonly ArgToken[],
  variadic: readonly string[],
  required = 0,
): { extra: Record<string, string[]>; positionals: string[] } {
  const extra: Record<string, string[]> = {};
  /** Positionals with their place on the command line. */
  const operands: { at: number; value: string }[] = [];
  /** Values taken by variadic options, in order, so the last ones can be given back. */
  const taken: { at: number; option: string }[] = [];
  let current: string | undefined;
  for (const [at, token] of tokens.entries()) {
    if (token.kind === "option") {
      current =
        variadic.includes(token.name) && token.value !== undefined && token.inlineValue !== true
          ? token.name
          : undefined;
      continue;
    }
    if (token.kind === "option-terminator") {
      current = undefined;
      continue;
    }
    if (current === undefined) {
      operands.push({ at, value: token.value });
    } else {
      extra[current] = [...(extra[current] ?? []), token.value];
      taken.push({ at, option: current });
    }
  }
  while (operands.length < required) {
    const last = taken.pop();
    if (last === undefined) break;
    operands.push({ at: last.at, value: extra[last.option]!.pop()! });
  }
  operands.sort((a, b) => a.at - b.at);
  return { extra, positionals: operands.map((o) => o.value) };
}
