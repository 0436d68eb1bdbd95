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
 * `--ignore-paths a b c`, `b` and `c` join `a`. Put other positionals (the model path) first.
 * @param tokens - parseArgs tokens
 * @param variadic - names of the variadic options
 * @returns the extra values per option and the remaining positionals
 */
export function splitVariadic(
  tokens: readonly ArgToken[],
  variadic: readonly string[],
): { extra: Record<string, string[]>; positionals: string[] } {
  const extra: Record<string, string[]> = {};
  const positionals: string[] = [];
  let current: string | undefined;
  for (const token of tokens) {
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
      positionals.push(token.value);
    } else {
      extra[current] = [...(extra[current] ?? []), token.value];
    }
  }
  return { extra, positionals };
}
