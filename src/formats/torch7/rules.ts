/**
 * Rules of the torch7 area (Lua Torch `.t7` files).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const FILE_LUA = "https://github.com/torch/torch7/blob/master/File.lua";
const SERIALIZATION = "https://github.com/torch/torch7/blob/master/doc/serialization.md";

/** torch7 rules. */
export const torch7Rules = [
  {
    id: "torch7/serialized-function",
    title: "Serialized Lua function",
    severity: "critical",
    description:
      "The file holds a Lua function (type FUNCTION, RECUR_FUNCTION or LEGACY_RECUR_FUNCTION): its dumped bytecode, which `torch.load` passes to `loadstring` and installs in the loaded object, where the model calls it. Lua 5.1 and LuaJIT do not verify bytecode, so crafted bytecode escapes the interpreter as soon as it runs. Also reported when a broken file still carries a bytecode dump after its length field.",
    references: [FILE_LUA, SERIALIZATION],
  },
  {
    id: "torch7/unknown-class",
    title: "Object of a class outside the known set",
    severity: "medium",
    description:
      "A torch object names a class other than torch tensors and storages or the module classes of nn, cunn, cudnn, nngraph and graph. `torch.load` instantiates it through `torch.factory` and calls the class's own `read` method, code the loading environment defines: what it does cannot be known from the file.",
    references: [FILE_LUA],
  },
  {
    id: "torch7/malformed",
    title: "Torch7 serialization is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The object stream cannot be walked: an unknown type tag, a negative or oversized length, a table or storage larger than the bytes left, a tensor whose storage is not a storage, too deep a nesting, or input that ends early. An unknown class whose own `read` method reads a different layout also ends here: the rest of the file was not analysed.",
    references: [FILE_LUA],
  },
  {
    id: "torch7/trailing-data",
    title: "Bytes after the serialized object",
    severity: "low",
    description:
      "The file continues after the top-level object. `torch.load` never reads these bytes; they are analysed as a member because appended archives and pickles hide there.",
    references: [FILE_LUA],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof torch7Rules)[number]["id"], true> {}
}
