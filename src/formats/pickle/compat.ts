/**
 * Python 2 → 3 renames the unpickler applies to globals when the protocol is below 3 (CPython's
 * `_compat_pickle` tables, kept as data in `data/compat.json`).
 * @module
 */
import compat from "./data/compat.json" with { type: "json" };

const IMPORT_MAPPING: ReadonlyMap<string, string> = new Map(Object.entries(compat.importMapping));
const NAME_MAPPING: ReadonlyMap<string, readonly [string, string]> = new Map(
  compat.nameMapping.map(([from, to]) => {
    const [m2 = "", n2 = ""] = (to ?? "").split(" ");
    return [from ?? "", [m2, n2] as const];
  }),
);

/**
 * The (module, name) CPython's `find_class` imports for a global read at protocol `proto`.
 * @param module - module as written in the stream
 * @param name - name as written
 * @param proto - protocol in force (the last PROTO opcode, 0 when none)
 * @returns the pair actually imported, and whether it was renamed
 */
export function fixImports(
  module: string,
  name: string,
  proto: number,
): { module: string; name: string; renamed: boolean } {
  if (proto >= 3) return { module, name, renamed: false };
  const pair = NAME_MAPPING.get(`${module} ${name}`);
  if (pair !== undefined) return { module: pair[0], name: pair[1], renamed: true };
  const mapped = IMPORT_MAPPING.get(module);
  if (mapped !== undefined) return { module: mapped, name, renamed: true };
  return { module, name, renamed: false };
}

/**
 * The Python 3 name of a module written with its Python 2 name (whatever the protocol; used to
 * check names fail-closed).
 * @param module - module name
 */
export function py3Module(module: string): string {
  return IMPORT_MAPPING.get(module) ?? module;
}
