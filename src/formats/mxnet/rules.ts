/**
 * Rules of the mxnet area (symbol graphs and NDArray parameter files).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/symbol/symbol.html";

/** mxnet rules. */
export const mxnetRules = [
  {
    id: "mxnet/malformed",
    title: "MXNet file is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "An NDArray list (`.params`) whose magic, array headers, shapes, dtypes or data lengths do not add up, whose names do not match its arrays, or a symbol graph whose nodes, inputs, argument nodes or heads point outside the graph. MXNet refuses such files.",
    references: [DOCS],
  },
  {
    id: "mxnet/custom-operator",
    title: "Symbol graph uses a Python custom operator",
    severity: "medium",
    description:
      "A node has op `Custom`: its `op_type` names a Python class the loading program must have registered with `mx.operator.register`, whose code runs in forward and backward. The graph cannot run without that code, and whatever registers it decides what runs.",
    references: [DOCS, "https://mxnet.apache.org/versions/1.9.1/api/faq/new_op"],
  },
  {
    id: "mxnet/native-operator",
    title: "Symbol graph holds a native-callback operator",
    severity: "high",
    description:
      "A node has op `_Native` or `_NDArray` (the deprecated NativeOp/NDArrayOp): its `info` parameter is a raw pointer to a table of C callbacks, read from the file, that the operator calls when it runs. A graph from elsewhere makes the process jump to an address the file chose.",
    references: [DOCS],
  },
  {
    id: "mxnet/trailing-data",
    title: "Bytes after the NDArray list",
    severity: "low",
    description:
      "The parameter file continues after its names. MXNet does not read these bytes; they are analysed as a member because appended archives and pickles hide there.",
    references: [DOCS],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof mxnetRules)[number]["id"], true> {}
}
