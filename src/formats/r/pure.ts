/**
 * Which exported functions of R's base packages (base, stats, utils, grDevices, graphics, methods)
 * only compute a value from their arguments, from a table generated with R itself
 * (samples/generate/r_pure_calls.R writes pure-calls.json): a stored model call may call those
 * (`lm(data = df[sample(nrow(df), 25), ])`, `hclust(dist(x))`, `density(rnorm(100))`) and stay
 * clean. The other exports of these packages act (files, devices, evaluation, environments,
 * options, functions handed to them): a stored call naming one is dangerous. A name in neither
 * table is unknown. A bare name and its `pkg::name` form are judged alike.
 * @module
 */
import table from "./pure-calls.json" with { type: "json" };

const byPackage = (t: Readonly<Record<string, readonly string[]>>): ReadonlyMap<string, ReadonlySet<string>> =>
  new Map(Object.entries(t).map(([pkg, names]) => [pkg, new Set(names)]));

/** Pure exports, by package. */
const PURE: ReadonlyMap<string, ReadonlySet<string>> = byPackage(table.pure);
/** Exports that act, by package. */
const IMPURE: ReadonlyMap<string, ReadonlySet<string>> = byPackage(table.impure);

/** Bare names that are pure in some package and act in none. */
const PURE_BARE: ReadonlySet<string> = new Set(
  [...PURE.values()].flatMap((s) => [...s]).filter((n) => ![...IMPURE.values()].some((s) => s.has(n))),
);

/** `pkg::name` or `pkg:::name` taken apart; a bare name has no package. */
function split(name: string): { readonly pkg: string | undefined; readonly bare: string } {
  const m = /^([^:]+):::?(.+)$/.exec(name);
  return m === null ? { pkg: undefined, bare: name } : { pkg: m[1], bare: m[2]! };
}

/** Whether a call (bare or qualified) names a pure function of R's base packages. */
export function isPureCall(name: string): boolean {
  const { pkg, bare } = split(name);
  return pkg === undefined ? PURE_BARE.has(bare) : PURE.get(pkg)?.has(bare) === true;
}

/** Whether a call (bare or qualified) names an export of R's base packages that acts. */
export function isImpureCall(name: string): boolean {
  const { pkg, bare } = split(name);
  if (pkg !== undefined && IMPURE.get(pkg)?.has(bare) === true) return true;
  return [...IMPURE.values()].some((s) => s.has(bare));
}

/** Whether the table knows a package (its exports are all in one of the two sets). */
export function isTabledPackage(pkg: string): boolean {
  return PURE.has(pkg);
}
