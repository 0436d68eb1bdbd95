// Records every module URL a process resolves, one a line, to the file named by
// MODELGATE_RECORD_MODULES: `node --import ./test/helpers/ts-register.mjs --import
// ./test/startup/record-hooks.mjs ...`. Registered after the TypeScript hooks, so it sees what they
// resolve. Every npm package the sources use is first reached by an `import` from the sources, so
// a package that is loaded at all shows here with its entry point.
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { recordingResolve } from "./record-resolve.mjs";

const out = process.env.MODELGATE_RECORD_MODULES;
if (out === undefined || out === "") throw new Error("record-hooks: set MODELGATE_RECORD_MODULES");
registerHooks({ resolve: recordingResolve(out) });

// Built-in modules the process loaded by the time it exits, however (`import`, `require` or
// `process.getBuiltinModule`, which no hook sees): `builtin:<name>` lines. Node's own start-up
// loads some of them too; tests compare against a bare script.
process.on("exit", () => {
  const names = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
  appendFileSync(out, names.map((n) => `builtin:${n}\n`).join(""));
});
