/**
 * Rules of the skops area: scikit-learn models saved with `skops.io.dump` (`.skops`).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://skops.readthedocs.io/en/stable/persistence.html";

/** skops rules. */
export const skopsRules = [
  {
    id: "skops/dangerous-type",
    title: "skops schema constructs a code-capable type",
    severity: "critical",
    description:
      "A node of `schema.json` names (`__module__` + `__class__`) a callable or type on the pickle denylist: `builtins.eval`/`exec`, `os.system`, `subprocess.Popen`, `builtins.getattr`, `operator.methodcaller` ... skops imports it when the file is loaded with the type trusted (`trusted=`, or `get_untrusted_types()` passed back as users are told to), and several loaders call it: a `FunctionNode` returns it to be called later, a `ListNode`/`DictNode`/`ConstructorFromReduceNode` calls it with the stored content, a `TypeNode` in a dict's `key_types` is called on every key.",
    references: [DOCS, "https://github.com/skops-dev/skops/security/advisories"],
  },
  {
    id: "skops/untrusted-type",
    title: "skops schema uses a type skops does not trust by default",
    severity: "medium",
    description:
      "A node names a type outside the set skops trusts for its loader by default (builtins containers, numpy arrays and dtypes, numpy/scipy ufuncs, scikit-learn estimators, scipy sparse matrices). `skops.io.load` refuses it unless the caller trusts it, and callers routinely pass `get_untrusted_types()` back unread: the type is then imported and constructed.",
    references: [DOCS],
  },
  {
    id: "skops/unknown-loader",
    title: "skops schema names an unknown loader",
    severity: "high",
    description:
      "A node's `__loader__` is none of the node types skops registers (`ObjectNode`, `NdArrayNode`, `FunctionNode`, `TypeNode`, `DictNode`, `ListNode`, `TupleNode`, `SparseMatrixNode` ...). No skops release writes it: the file was crafted, or targets a loader registered by a plugin this scan cannot judge.",
    references: [DOCS],
  },
  {
    id: "skops/missing-file",
    title: "skops schema references a member the archive lacks",
    severity: "medium",
    invalidates: true,
    description:
      "A node's `file` key (an array `.npy`, a sparse matrix `.npz`, a bytes `.bin`) names a member that is not in the archive: skops cannot load the file, and the content it was meant to hold was not analysed.",
    references: [DOCS],
  },
  {
    id: "skops/malformed",
    title: "skops schema is missing or malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The archive has no readable `schema.json`, or it is not the tree skops writes (a root node object with a `protocol`; every node with string `__module__`, `__class__` and `__loader__`).",
    references: [DOCS],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof skopsRules)[number]["id"], true> {}
}
