/**
 * Rules of the llamafile area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** llamafile rules. */
export const llamafileRules = [
  {
    id: "llamafile/executable",
    title: "llamafile / Actually Portable Executable",
    severity: "high",
    description:
      "An Actually Portable Executable (`MZqFpD='`, `jartsr='` or `APEDBG='` header: a shell script, a Windows PE and an ELF/Mach-O loader in one file), the shape of a llamafile. Running it is its intended use, so it is native code like any `format/executable` and has the same severity. Its embedded zip (the GGUF weights, `.args`) is analysed as members.",
    references: ["https://github.com/Mozilla-Ocho/llamafile", "https://justine.lol/ape.html"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof llamafileRules)[number]["id"], true> {}
}
