/**
 * Rules of the cntk area: Microsoft Cognitive Toolkit models (`CNTK.proto` Dictionary, legacy v1).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const PROTO = "https://github.com/microsoft/CNTK/blob/master/Source/CNTKv2LibraryDll/proto/CNTK.proto";
const PY_UDF = "https://github.com/microsoft/CNTK/blob/master/bindings/python/cntk/internal/utils.py";
const NATIVE_UDF = "https://github.com/microsoft/CNTK/blob/master/Source/CNTKv2LibraryDll/UserDefinedFunction.cpp";

/** cntk rules. */
export const cntkRules = [
  {
    id: "cntk/udf-injection",
    title: "CNTK user-defined function injects code into the loader's exec",
    severity: "critical",
    description:
      'A Python user-defined function of the graph names a module or class that is not a plain (dotted) Python identifier. `cntk.load_model` rebuilds a Python UDF by running `exec("from {module} import {class}")` and an `eval` with both strings taken from the file: anything else than identifiers there is Python code the loader runs.',
    references: [PY_UDF, PROTO],
  },
  {
    id: "cntk/python-udf",
    title: "CNTK model holds a Python user-defined function",
    severity: "high",
    description:
      "A function of the graph is a Python user-defined function (`UserDefinedFunction`, its `user_defined_state` naming a module and a class). `cntk.load_model` imports that module and calls the class's `deserialize`: the model runs whatever code that module holds on the loading machine.",
    references: [PY_UDF, PROTO],
  },
  {
    id: "cntk/native-udf",
    title: "CNTK model loads a native user-defined function",
    severity: "high",
    description:
      "A function of the graph is a native user-defined function (`native: true`, `NativeUserDefinedFunction`): unless the process registered a factory for its op, CNTK loads the shared library its `module` names and calls the factory `deserialize_method` names. Loading the model loads native code.",
    references: [NATIVE_UDF, PROTO],
  },
  {
    id: "cntk/legacy-model",
    title: "Legacy CNTK model not analysed",
    severity: "medium",
    description:
      "The file is a CNTK v1 (legacy, `BCN` marker) model. modelgate does not parse this format, so what loading it does was not established.",
    references: [PROTO],
  },
  {
    id: "cntk/malformed",
    title: "CNTK model is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The CNTK Dictionary does not parse (broken protobuf wire data) or is not a function graph (`type` is not `CompositeFunction`, no `primitive_functions`). CNTK refuses it, and what it holds was not established.",
    references: [PROTO],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof cntkRules)[number]["id"], true> {}
}
