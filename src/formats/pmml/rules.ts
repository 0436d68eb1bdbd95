/**
 * Rules of the pmml area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const PMML = "https://dmg.org/pmml/v4-4-1/GeneralStructure.html";
const JPMML = "https://github.com/jpmml/jpmml-evaluator";

/** pmml rules. */
export const pmmlRules = [
  {
    id: "pmml/extension",
    title: "PMML extension carries code or a Java class name",
    severity: "medium",
    description:
      "An `<Extension>` element (free-form vendor content) names a Java class or holds script-like text. PMML itself is data, but evaluators and vendor tools act on their own extensions (JPMML resolves classes by name); code in a model file is not data. Check what consumes it.",
    references: [`${PMML}#xsdElement_Extension`, JPMML],
  },
  {
    id: "pmml/java-function",
    title: "PMML Apply calls a Java class",
    severity: "medium",
    description:
      "An `<Apply function>` names neither a PMML built-in function nor a `<DefineFunction>` of the document but a fully qualified Java class: JPMML-Evaluator loads such user-defined functions from the classpath by name and runs them. Classes from `java.lang`, `java.io`, `java.net`, `javax.script` and similar are `high`: no model needs them.",
    references: ["https://dmg.org/pmml/v4-4-1/Functions.html", JPMML],
  },
  {
    id: "pmml/malformed",
    title: "PMML structure is invalid",
    severity: "medium",
    invalidates: true,
    description:
      "The document is not a `<PMML>` with a version, a `<DataDictionary>` and at least one model element. Evaluators reject it; modelgate cannot say what it would compute.",
    references: [PMML],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof pmmlRules)[number]["id"], true> {}
}
