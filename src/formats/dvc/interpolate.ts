/**
 * DVC's templating of `dvc.yaml` commands (`${name}`), resolved where the values are in the file:
 * the top-level and stage `vars` written inline, and a `foreach` stage's `item`/`key` or a
 * `matrix` stage's `item.<name>`. `params.yaml` (which DVC loads as vars by default) and `vars`
 * naming other files are not read here: a command naming a value that is not in the file is
 * unresolved, and the caller reports it as built from parameters (medium): `cmd: ${run}` with
 * `run: curl … | sh` in `params.yaml` runs that command. Bounded: values flattened, items
 * expanded and substitutions made are capped, and what passes a cap is unresolved.
 * @module
 */
import { isObject, type Plain, type StageCommand, text } from "./stage.js";

/** Names flattened from one `vars` source at most. */
const MAX_NAMES = 10_000;
/** Items (foreach entries, matrix combinations) a stage is expanded to at most. */
const MAX_ITEMS = 64;
/** Nesting flattened. */
const MAX_DEPTH = 16;
/** Longest command substituted (a longer one is judged as written: it counts as risky, see `./stage.ts`). */
const MAX_SUBSTITUTED = 64 * 1024;
/** A `${…}` interpolation. */
const INTERPOLATION = /\$\{([^}]{0,256})\}/g;

/** Values by dotted name (`a.b`, `a.0`, `a[0]`). */
type Names = Map<string, string>;

/** Flattens a value under a name into dotted names (lists by index, both `a.0` and `a[0]`). */
function flatten(into: Names, name: string, value: unknown, depth = 0): void {
  if (into.size >= MAX_NAMES || depth > MAX_DEPTH) return;
  const scalar = text(value);
  if (scalar !== undefined) {
    into.set(name, scalar);
    return;
  }
  const prefix = name === "" ? "" : `${name}.`;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      flatten(into, `${prefix}${i}`, v, depth + 1);
      if (name !== "") flatten(into, `${name}[${i}]`, v, depth + 1);
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) flatten(into, `${prefix}${k}`, v, depth + 1);
  }
}

/** The inline values of a `vars` list (file names are skipped: their values are not in this file). */
export function inlineVars(vars: unknown): Names {
  const names: Names = new Map();
  for (const entry of Array.isArray(vars) ? vars : []) if (isObject(entry)) flatten(names, "", entry);
  return names;
}

/**
 * The item bindings of a stage: one per `foreach` entry or `matrix` combination, or one empty
 * binding; undefined when the items are not in the file (`foreach: ${list}`) or past the cap.
 */
function itemBindings(stage: Plain): Names[] | undefined {
  if (stage.foreach !== undefined) {
    const each = stage.foreach;
    const entries: [string | undefined, unknown][] = Array.isArray(each)
      ? each.map((v) => [undefined, v])
      : isObject(each)
        ? Object.entries(each)
        : [];
    if (entries.length === 0 || entries.length > MAX_ITEMS) return undefined;
    return entries.map(([key, item]) => {
      const names: Names = new Map();
      if (key !== undefined) names.set("key", key);
      flatten(names, "item", item);
      return names;
    });
  }
  if (stage.matrix !== undefined) {
    if (!isObject(stage.matrix)) return undefined;
    let combos: Names[] = [new Map()];
    for (const [name, values] of Object.entries(stage.matrix)) {
      if (!Array.isArray(values) || values.length === 0) return undefined;
      if (combos.length * values.length > MAX_ITEMS) return undefined;
      combos = combos.flatMap((combo) =>
        values.map((v) => {
          const next = new Map(combo);
          flatten(next, `item.${name}`, v);
          return next;
        }),
      );
    }
    return combos;
  }
  return [new Map()];
}

/**
 * Characters of substituted commands one file may produce in all (each command at most
 * {@link MAX_SUBSTITUTED}): a 50 KB value substituted 9,000 times in each of 64 `foreach` items
 * took 4.5 GB and ended the process. Past it, commands stay unresolved (reported as built from
 * parameters).
 */
export const MAX_SUBSTITUTED_TOTAL = 4 * 1024 * 1024;

/** What substitution may still produce in one file (see {@link MAX_SUBSTITUTED_TOTAL}). */
export interface SubstitutionBudget {
  left: number;
}

/** A fresh per-file substitution budget. */
export function substitutionBudget(): SubstitutionBudget {
  return { left: MAX_SUBSTITUTED_TOTAL };
}

/**
 * A command with its interpolations substituted, or undefined when a name is not known or the
 * result would be longer than {@link MAX_SUBSTITUTED} or than what the budget has left.
 */
function substitute(
  cmd: string,
  lookup: (name: string) => string | undefined,
  budget: SubstitutionBudget,
): string | undefined {
  let missing = false;
  // the length is checked before anything is joined: the output is never built past the bound
  const limit = Math.min(MAX_SUBSTITUTED, budget.left);
  let length = cmd.length;
  const values: string[] = [];
  for (const m of cmd.matchAll(INTERPOLATION)) {
    const value = lookup((m[1] ?? "").trim());
    if (value === undefined) {
      missing = true;
      break;
    }
    length += value.length - m[0].length;
    if (length > limit) return undefined;
    values.push(value);
  }
  if (missing) return undefined;
  let i = 0;
  const out = cmd.replace(INTERPOLATION, () => values[i++] ?? "");
  budget.left -= out.length;
  // an unclosed or over-long `${` is not resolved either
  return out.includes("${") ? undefined : out;
}

/**
 * A stage's commands as `dvc repro` runs them, resolved where the values are in the file.
 * @param commands - the commands as written
 * @param stage - the stage mapping (holding `foreach`/`matrix`, `vars`)
 * @param globals - the file's inline `vars`
 * @param budget - what substitution may still produce in this file (shared by its stages)
 */
export function resolveCommands(
  commands: readonly string[],
  stage: Plain,
  globals: Names,
  budget: SubstitutionBudget = substitutionBudget(),
): StageCommand[] {
  const local = inlineVars(stage.vars);
  const bindings = itemBindings(stage);
  return commands.map((written) => {
    if (!written.includes("${") || written.length > MAX_SUBSTITUTED) return { written, resolved: [written] };
    if (bindings === undefined) return { written };
    const resolved: string[] = [];
    for (const item of bindings) {
      const run = substitute(written, (name) => item.get(name) ?? local.get(name) ?? globals.get(name), budget);
      if (run === undefined) return { written };
      resolved.push(run);
    }
    return { written, resolved };
  });
}
