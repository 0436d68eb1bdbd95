// `node --experimental-transform-types --import ./test/helpers/ts-register.mjs src/cli/main.ts ...`
// runs the CLI from its TypeScript sources (child processes in tests, no build needed): the hooks
// map the sources' `./x.js` specifiers to `./x.ts`.
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
