/**
 * Rules of the numpy area that belong to the `.npy` header itself (the data rules, `numpy/malformed`,
 * `numpy/object-array` and `numpy/trailing-data`, live with the pickle rules).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const NPY_FORMAT = "https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html";

/** numpy header rules. */
export const numpyRules = [
  {
    id: "numpy/unjudged-header",
    title: "NumPy header modelgate cannot judge",
    severity: "medium",
    description:
      "`numpy.load` evaluates the header as a Python literal (`ast.literal_eval`) and builds the dtype from any `descr` spelling `numpy.dtype` accepts; with `allow_pickle=True` it reads headers of any size and unpickles the data of every dtype that holds objects. This header uses a form modelgate does not evaluate (an escape, arithmetic, a type name or field layout it does not know) or is longer than its budget, so it cannot say whether the data is a pickle: the data is analysed as one anyway and its findings reported.",
    references: [NPY_FORMAT],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof numpyRules)[number]["id"], true> {}
}
