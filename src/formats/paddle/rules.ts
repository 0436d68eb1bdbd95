/**
 * Rules of the paddle area: PaddlePaddle static programs (`.pdmodel`, `__model__`).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const PROTO = "https://github.com/PaddlePaddle/Paddle/blob/develop/paddle/fluid/framework/framework.proto";

/** paddle rules. */
export const paddleRules = [
  {
    id: "paddle/py-func",
    title: "Paddle program calls Python (py_func)",
    severity: "critical",
    description:
      "An operator of the program is `py_func`: when the program runs, it calls the Python callable registered under its `forward_callable_id` in the loading process. The program hands control to whatever Python code the loader registered or an attacker arranged to be registered; no graph-level analysis can say what it does.",
    references: [PROTO, "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/static/py_func_en.html"],
  },
  {
    id: "paddle/io-op",
    title: "Paddle program reads or writes files, or talks to other processes",
    severity: "medium",
    description:
      "An operator saves or loads tensors to or from a path of its `file_path` attribute (`save`, `load`, `save_combine`, `load_combine`), or sends, receives or initialises communication (`send`, `recv`, `listen_and_serv`, `c_gen_nccl_id` ...), or reads from Python readers: running the program touches the file system or the network, which an inference program does not need.",
    references: [PROTO],
  },
  {
    id: "paddle/unknown-op",
    title: "Paddle operator outside the known core set",
    severity: "low",
    description:
      "An operator type is not in this version's list of Paddle core operators: a custom operator (loaded from a shared library the deployment provides) or one this version does not know. It was not judged.",
    references: [PROTO],
  },
  {
    id: "paddle/malformed",
    title: "Paddle program is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The ProgramDesc does not parse: broken protobuf wire data, no blocks, an operator without a type or a block without its required indices. Paddle refuses it, and what it holds was not established.",
    references: [PROTO],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof paddleRules)[number]["id"], true> {}
}
