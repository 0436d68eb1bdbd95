// `node --experimental-transform-types --import ./test/helpers/ts-register.mjs src/cli/main.ts ...`
// runs the CLI from its TypeScript sources (child processes in tests, no build needed): the hooks
// map the sources' `./x.js` specifiers to `./x.ts`.
import { registerHooks } from "node:module";
import { resolve } from "./ts-hooks.mjs";

registerHooks({ resolve });
