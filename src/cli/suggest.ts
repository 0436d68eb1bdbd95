/**
 * "Did you mean" for mistyped commands, options and rule ids: the closest known name by edit
 * distance (insertions, deletions, substitutions and swaps of two neighbours each cost 1).
 * @module
 */

/** Longest name compared: anything longer is no typo of a short name (and keeps the work bounded). */
const MAX_LENGTH = 128;

/**
 * Edit distance between two strings (optimal string alignment: a swap of two neighbouring
 * characters counts as one edit), case-sensitive.
 * @param a - one string (at most {@link MAX_LENGTH} characters are compared)
 * @param b - the other
 */
export function editDistance(a: string, b: string): number {
  const s = a.slice(0, MAX_LENGTH);
  const t = b.slice(0, MAX_LENGTH);
  let before = new Array<number>(t.length + 1).fill(0);
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = new Array<number>(t.length + 1).fill(0);
    row[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    before = prev;
    prev = row;
  }
  return prev[t.length]!;
}

/**
 * The known name closest to a mistyped one, when it is close enough to be a typo: at most one edit
 * for names of up to four characters, two up to eight, three beyond; or the only name that starts
 * with what was typed (`--form` for `--format`). Ties go to the first name listed.
 * @param typed - what the user typed
 * @param known - the valid names
 * @returns the suggestion, or undefined
 */
export function didYouMean(typed: string, known: readonly string[]): string | undefined {
  if (typed === "" || typed.length > MAX_LENGTH) return undefined;
  const lower = typed.toLowerCase();
  const budget = lower.length <= 4 ? 1 : lower.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const d = editDistance(lower, name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= budget && bestDistance < Math.max(lower.length, best.length)) return best;
  const prefixed = known.filter((n) => n.toLowerCase().startsWith(lower));
  return lower.length >= 3 && prefixed.length === 1 ? prefixed[0] : undefined;
}

/**
 * The long options a command's usage text names (`--format`, `--no-color`), in order, once each.
 * @param usage - the command's usage text
 */
export function optionsOf(usage: string): string[] {
  return [...new Set([...usage.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]))];
}
