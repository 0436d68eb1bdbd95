/**
 * The PMML analyzer: PMML is a data-only model description, so the document is read through the
 * XML layer (DOCTYPE attacks), its structure checked (a `<PMML>` with a version, a data dictionary
 * and models) and its models inventoried; what can reach code is reported: `<Extension>` content
 * naming Java classes or holding script, and `<Apply>` calls of Java classes (JPMML user functions).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { readXmlDocument, type XmlElement } from "../xml/reader.js";

/** PMML 4.x model elements (facts from the PMML 4.4 schema). */
export const MODEL_ELEMENTS: ReadonlySet<string> = new Set([
  "AnomalyDetectionModel",
  "AssociationModel",
  "BaselineModel",
  "BayesianNetworkModel",
  "ClusteringModel",
  "GaussianProcessModel",
  "GeneralRegressionModel",
  "MiningModel",
  "NaiveBayesModel",
  "NearestNeighborModel",
  "NeuralNetwork",
  "RegressionModel",
  "RuleSetModel",
  "Scorecard",
  "SequenceModel",
  "SupportVectorMachineModel",
  "TextModel",
  "TimeSeriesModel",
  "TreeModel",
]);

/** A Java class name: dotted identifiers, the last one the class. */
const JAVA_CLASS = /^(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*$/;
/** Java class names inside free text (package parts lowercase, class capitalised). */
const JAVA_CLASS_IN_TEXT = /\b(?:[a-z_$][\w$]*\.){2,}[A-Z][\w$]*\b/;
/** Packages no model function belongs to: their classes run commands, read files, evaluate scripts. */
const DANGEROUS_PACKAGE =
  /^(?:java\.(?:lang|io|nio|net|rmi|util\.concurrent)|javax\.(?:script|naming|management)|jdk\.|sun\.|com\.sun\.|groovy\.|org\.codehaus\.groovy|bsh\.|org\.python|org\.springframework|ognl\.|org\.mvel)/;
/** Script-like text. */
const SCRIPT =
  /<script\b|javascript:|\beval\s*\(|Runtime\s*\.\s*getRuntime|ProcessBuilder|\bexec\s*\(|__import__|\bimport\s+[\w.]+|#!\/|\bos\.system\b|\bsubprocess\b/i;
/** Text of one Extension inspected. */
const MAX_EXTENSION_TEXT = 64 * 1024;

interface Io {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** What the document reveals. */
export interface PmmlSummary {
  version?: string;
  application?: string;
  models: Map<string, number>;
  firstModel?: string;
  functionName?: string;
  extensions: number;
  dataFields: Map<string, string>;
  inputs: string[];
  targets: string[];
}

/**
 * Reads a PMML document, reports its findings and returns its summary.
 * @param ctx - the analysis context (source, report, checkpoint)
 */
export async function analyzePmml(
  ctx: Pick<AnalysisContext, "source" | "report" | "checkpoint">,
): Promise<PmmlSummary> {
  const findings = new FindingList();
  const s: PmmlSummary = { models: new Map(), extensions: 0, dataFields: new Map(), inputs: [], targets: [] };
  const defined = new Set<string>();
  const applies: Array<{ name: string; line: number }> = [];
  let sawDictionary = false;
  let extension: { el: XmlElement; depth: number; text: string; reported: boolean } | undefined;
  let firstModelDepth: number | undefined;
  let inFirstSchema = false;

  const reportExtension = (what: string, value: string) => {
    if (extension === undefined || extension.reported) return;
    extension.reported = true;
    findings.add({
      ruleId: "pmml/extension",
      message: `<Extension${extension.el.attr("name") === undefined ? "" : ` name=${JSON.stringify(extension.el.attr("name")?.slice(0, 100))}`}> ${what}: ${JSON.stringify(value.slice(0, 200))}`,
      evidence: {
        name: (extension.el.attr("name") ?? "").slice(0, 200),
        extender: (extension.el.attr("extender") ?? "").slice(0, 200),
        value: value.slice(0, 300),
        line: extension.el.line,
      },
    });
  };
  const inspect = (value: string) => {
    const script = SCRIPT.exec(value);
    if (script !== null) reportExtension("holds script-like text", value.slice(Math.max(0, script.index - 40)));
    else if (JAVA_CLASS_IN_TEXT.test(value) || JAVA_CLASS.test(value.trim())) {
      if (/\./.test(value.trim()) && !/^[\d.eE+-]+$/.test(value.trim())) reportExtension("names a Java class", value);
    }
  };

  const doc = await readXmlDocument(ctx, {
    open(el) {
      if (el.depth === 1) {
        if (el.local !== "PMML") {
          findings.add({
            ruleId: "pmml/malformed",
            message: `the root element is <${el.name.slice(0, 100)}>, not <PMML>`,
          });
          return;
        }
        const version = el.attr("version");
        if (version === undefined || !/^[234]\.\d$/.test(version)) {
          findings.add({
            ruleId: "pmml/malformed",
            message: `PMML version ${JSON.stringify((version ?? "(none)").slice(0, 20))} is not a PMML 2.x–4.x version`,
          });
        }
        if (version !== undefined) s.version = version.slice(0, 20);
        return;
      }
      if (extension !== undefined) {
        // every element and attribute inside an Extension is vendor content
        inspect(el.local);
        for (const a of el.attributes) inspect(a.value);
        return;
      }
      if (el.local === "Extension") {
        s.extensions++;
        extension = { el, depth: el.depth, text: "", reported: false };
        for (const a of el.attributes) inspect(a.value);
        return;
      }
      if (el.depth === 2 && el.local === "DataDictionary") sawDictionary = true;
      if (el.depth === 3 && el.local === "Application") {
        s.application = `${el.attr("name") ?? ""} ${el.attr("version") ?? ""}`.trim().slice(0, 200);
      }
      if (el.depth === 3 && el.local === "DataField" && s.dataFields.size < 10_000) {
        s.dataFields.set((el.attr("name") ?? "").slice(0, 200), (el.attr("dataType") ?? "").slice(0, 30));
      }
      if (MODEL_ELEMENTS.has(el.local)) {
        if (s.models.size < 100 || s.models.has(el.local)) s.models.set(el.local, (s.models.get(el.local) ?? 0) + 1);
        if (s.firstModel === undefined && el.depth === 2) {
          s.firstModel = el.local;
          firstModelDepth = el.depth;
          const fn = el.attr("functionName");
          if (fn !== undefined) s.functionName = fn.slice(0, 50);
        }
      }
      if (el.local === "MiningSchema" && firstModelDepth !== undefined && el.depth === firstModelDepth + 1) {
        inFirstSchema = s.inputs.length === 0 && s.targets.length === 0;
      }
      if (inFirstSchema && el.local === "MiningField") {
        const name = (el.attr("name") ?? "").slice(0, 200);
        const usage = el.attr("usageType") ?? "active";
        if (usage === "target" || usage === "predicted") {
          if (s.targets.length < 64) s.targets.push(name);
        } else if (usage === "active" && s.inputs.length < 64) s.inputs.push(name);
      }
      if (el.local === "DefineFunction") {
        const name = el.attr("name");
        if (name !== undefined && defined.size < 100_000) defined.add(name);
      }
      if (el.local === "Apply") {
        const fn = el.attr("function") ?? "";
        if (JAVA_CLASS.test(fn) && applies.length < 10_000) applies.push({ name: fn, line: el.line });
      }
    },
    close(el) {
      if (extension !== undefined && el.depth === extension.depth) {
        if (!extension.reported) inspect(extension.text);
        extension = undefined;
      }
      if (el.local === "MiningSchema") inFirstSchema = false;
    },
    text(text) {
      if (extension !== undefined && extension.text.length < MAX_EXTENSION_TEXT) {
        extension.text += text.slice(0, MAX_EXTENSION_TEXT - extension.text.length);
      }
    },
  });
  for (const { name, line } of applies) {
    if (defined.has(name)) continue;
    const dangerous = DANGEROUS_PACKAGE.test(name);
    findings.add({
      ruleId: "pmml/java-function",
      message: `<Apply function=${JSON.stringify(name.slice(0, 200))}> calls a Java class${dangerous ? " from a package that runs commands, reads files or evaluates code" : ""}`,
      evidence: { function: name.slice(0, 200), line },
      ...(dangerous ? { severity: "high" as const } : {}),
    });
  }
  if (doc.error === undefined && doc.root?.local === "PMML") {
    if (!sawDictionary) findings.add({ ruleId: "pmml/malformed", message: "the document has no <DataDictionary>" });
    if (s.models.size === 0) findings.add({ ruleId: "pmml/malformed", message: "the document holds no model element" });
  }
  for (const f of findings.list()) ctx.report(f as FindingInput);
  return s;
}

/** Records what the document reveals. */
function recordFacts(ctx: AnalysisContext, s: PmmlSummary): void {
  if (s.version !== undefined) ctx.fact("pmml.version", s.version);
  if (s.application !== undefined && s.application !== "") ctx.fact("pmml.application", s.application);
  if (s.models.size > 0) ctx.fact("pmml.models", Object.fromEntries(s.models));
  if (s.firstModel !== undefined) ctx.fact("modelType", s.firstModel);
  if (s.functionName !== undefined) ctx.fact("pmml.functionName", s.functionName);
  if (s.extensions > 0) ctx.fact("pmml.extensions", s.extensions);
  const io = (names: string[]): Io[] => names.map((name) => ({ name, dtype: s.dataFields.get(name) ?? "", shape: [] }));
  if (s.inputs.length > 0) ctx.fact("inputs", io(s.inputs));
  if (s.targets.length > 0) ctx.fact("outputs", io(s.targets));
}

/** Analyzer of PMML documents. */
export const pmmlAnalyzer: Analyzer = {
  name: "pmml",
  formats: ["pmml"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    recordFacts(ctx, await analyzePmml(ctx));
  },
};
