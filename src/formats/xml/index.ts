/**
 * The XML module: the strict reading layer the XML-based model formats share (no DTD processing,
 * budgets, namespaces), the detector of those formats' documents (OpenVINO IR, PMML) and the
 * `xml/*` rules (external entities, expansion bombs, DOCTYPEs, malformed documents). The format
 * ids belong to their modules (`openvino`, `pmml`); generic XML stays text.
 * @module
 */
import { type FormatModule, lazyRules } from "../../core/module.js";
import { detectXmlModel } from "./detect.js";

const rules = lazyRules(import.meta.url, "./rules.js", "xmlRules");

/** XML layer. */
export const xmlModule = {
  name: "xml",
  detectors: [{ rank: 185, detect: detectXmlModel }],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
