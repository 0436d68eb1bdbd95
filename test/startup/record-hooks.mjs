// Records every module URL a process resolves, one a line, to the file named by
// MODELGATE_RECORD_MODULES: `node --import ./test/helpers/ts-register.mjs --import
// ./test/startup/record-hooks.mjs ...`. Registered after the TypeScript hooks, so it sees what they
// resolve. Every npm package the sources use is first reached by an `import` from the sources, so
// a package that is loaded at all shows here with its entry point.
import { register } from "node:module";

const out = process.env.MODELGATE_RECORD_MODULES;
if (out === undefined || out === "") throw new Error("record-hooks: set MODELGATE_RECORD_MODULES");
register("./record-resolve.mjs", { parentURL: import.meta.url, data: { out } });
