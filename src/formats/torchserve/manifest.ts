/**
 * What a TorchServe manifest (`MAR-INF/MANIFEST.json`) makes TorchServe do on load, judged against
 * the archive's members. Pure: the analyzer reads the bytes and reports.
 *
 * Facts used (TorchServe's model loader and archiver docs): the handler is `module[:function]`;
 * the loader strips a `.py` suffix and any folder, imports the module with the extracted archive on
 * the Python path, and only when that import fails falls back to `ts.torch_handler.<module>`, the
 * built-in handlers. So a member `<module>.py` (or `<module>.pyc`, an extension module
 * `<module>.so`, a package `<module>/__init__.*`) always wins, even over a built-in name. The model
 * directory comes first on the worker's `PYTHONPATH`, so any top-level module of the archive named
 * like a standard library module or a package the worker imports replaces it too.
 * @module
 */
import { pushAll } from "../../core/arrays.js";
import type { FindingInput } from "../../core/findings.js";
import { type DuplicateKey, JsonNumber, JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import { shadowingModules } from "../marshal/python-modules.js";
import { handlerModule, moduleMembers } from "./modules.js";
import { unjudgedFindings } from "./unjudged.js";

export { MANIFEST, tarManifestRoot } from "./index.js";
export { handlerModule } from "./modules.js";

/**
 * The files of an archive or directory below `root`, named relative to it (as TorchServe sees them
 * once it extracted the archive and made `root` the model directory).
 * @param names - member or file names (at most the listing's entries)
 * @param root - `""` or a folder ending in `/`
 */
export function membersUnder(names: Iterable<string>, root: string): Set<string> {
  const members = new Set<string>();
  for (const raw of names) {
    const name = raw.replace(/^(?:\.\/)+/, "");
    if (root === "") members.add(name);
    else if (name.startsWith(root) && name.length > root.length) members.add(name.slice(root.length));
  }
  return members;
}

/** TorchServe's built-in handlers (`ts.torch_handler.<name>`) a manifest may name. */
export const BUILTIN_HANDLERS: ReadonlySet<string> = new Set([
  "image_classifier",
  "text_classifier",
  "object_detector",
  "image_segmenter",
]);

/** What the manifest says and what it makes TorchServe do. */
export interface ManifestAnalysis {
  readonly findings: FindingInput[];
  readonly facts: Record<string, unknown>;
}

const str = (value: JsonValue | undefined): string | undefined => (typeof value === "string" ? value : undefined);

/**
 * Findings for top-level modules of the model directory that replace standard or known modules.
 * @param members - the model directory's files, relative to it
 * @param place - what holds the files, for messages
 */
export function shadowFindings(members: ReadonlySet<string>, place: string): FindingInput[] {
  return shadowingModules(members, 8).map((s) => ({
    ruleId: "torchserve/shadowed-module",
    message: `the ${place} ships ${JSON.stringify(preview(s.path, 80))}, which replaces the ${s.kind === "stdlib" ? "standard library module" : "installed package"} ${s.module} for the TorchServe worker (the model directory comes first on its Python path): its code runs when ${s.module} is imported`,
    evidence: { module: s.module, member: preview(s.path, 200), shadows: s.kind },
  }));
}

/**
 * Judges a parsed manifest. A manifest that does not say which handler TorchServe imports (not an
 * object with a `model` object, no string handler, the handler or model keys repeated) fails
 * closed: every code file of the model directory is reported as a handler (see unjudged.ts).
 * @param value - the manifest's JSON
 * @param members - the archive's file member names
 * @param place - what holds the files, for messages (`archive`, or `model folder` for `no-archive`)
 * @param duplicates - keys the manifest repeats (readers differ on which copy they take)
 */
export function analyzeManifest(
  value: JsonValue,
  members: ReadonlySet<string>,
  place: "archive" | "model folder" = "archive",
  duplicates: readonly DuplicateKey[] = [],
): ManifestAnalysis {
  const findings: FindingInput[] = [];
  const facts: Record<string, unknown> = {};
  const model = value instanceof JsonObject ? value.get("model") : undefined;
  if (!(value instanceof JsonObject) || !(model instanceof JsonObject)) {
    findings.push({
      ruleId: "torchserve/malformed",
      message: "MAR-INF/MANIFEST.json is not an object with a `model` object",
    });
    pushAll(findings, unjudgedFindings(members, "it is not an object with a `model` object", place));
    pushAll(findings, shadowFindings(members, place));
    pushAll(findings, requirementsFindings(members, undefined, place));
    return { findings, facts };
  }
  const runtime = str(value.get("runtime"));
  if (runtime !== undefined) facts["torchserve.runtime"] = preview(runtime, 80);
  const archiver = str(value.get("archiverVersion"));
  if (archiver !== undefined) facts.toolVersions = { "torch-model-archiver": preview(archiver, 40) };
  const modelName = str(model.get("modelName"));
  if (modelName !== undefined) facts["torchserve.modelName"] = preview(modelName, 120);
  const modelVersion = str(model.get("modelVersion"));
  if (modelVersion !== undefined) facts["torchserve.modelVersion"] = preview(modelVersion, 40);

  const rawHandler = model.get("handler");
  const handler = str(rawHandler);
  if (handler === undefined || handler.trim().length === 0) {
    findings.push({
      ruleId: "torchserve/malformed",
      message: "the manifest names no handler (`model.handler`)",
    });
    // a lenient reader (TorchServe's frontend reads the manifest with Gson) takes a number or a
    // boolean as its text
    const lenient =
      rawHandler instanceof JsonNumber ? [rawHandler.raw] : typeof rawHandler === "boolean" ? [`${rawHandler}`] : [];
    pushAll(findings, unjudgedFindings(members, "it names no string handler", place, lenient));
  } else {
    facts["torchserve.handler"] = preview(handler, 120);
    const { module, fn } = handlerModule(handler);
    const shipped = moduleMembers(module, members);
    const evidence = {
      handler: preview(handler, 200),
      module: preview(module, 120),
      ...(fn === undefined ? {} : { function: preview(fn, 120) }),
    };
    if (shipped.length > 0) {
      findings.push({
        ruleId: "torchserve/custom-handler",
        message: `handler ${JSON.stringify(preview(handler, 80))} is imported from the ${place} (${shipped.join(", ")}) when TorchServe loads the model${BUILTIN_HANDLERS.has(module) ? "; it shadows the built-in handler of that name" : ""}`,
        evidence: { ...evidence, member: preview(shipped[0] ?? "", 200) },
      });
    } else if (BUILTIN_HANDLERS.has(module) && fn === undefined && module === handler) {
      findings.push({
        ruleId: "torchserve/builtin-handler",
        message: `built-in handler ${module}`,
        evidence,
      });
    } else {
      findings.push({
        ruleId: "torchserve/unknown-handler",
        message: `handler ${JSON.stringify(preview(handler, 80))} is not in the ${place} and is not a built-in handler: TorchServe imports ${JSON.stringify(preview(module, 80))} from the serving environment`,
        evidence,
      });
    }
  }

  pushAll(findings, shadowFindings(members, place));

  const modelFile = str(model.get("modelFile"));
  if (modelFile !== undefined && modelFile.length > 0) {
    if (!members.has(modelFile)) {
      findings.push(missing("modelFile", modelFile, place));
    } else if (modelFile.toLowerCase().endsWith(".py")) {
      findings.push({
        ruleId: "torchserve/model-code",
        message: `model definition ${JSON.stringify(preview(modelFile, 80))} is imported when the model is loaded`,
        evidence: { modelFile: preview(modelFile, 200), member: preview(modelFile, 200) },
      });
    }
  }
  const serialized = str(model.get("serializedFile"));
  if (serialized !== undefined && serialized.length > 0) {
    facts["torchserve.serializedFile"] = preview(serialized, 120);
    if (!members.has(serialized)) findings.push(missing("serializedFile", serialized, place));
  }
  const configFile = str(model.get("configFile"));
  if (configFile !== undefined && configFile.length > 0 && !members.has(configFile)) {
    findings.push(missing("configFile", configFile, place));
  }
  const requirements = str(model.get("requirementsFile"));
  if (requirements !== undefined && requirements.length > 0 && !members.has(requirements)) {
    findings.push(missing("requirementsFile", requirements, place));
  }
  pushAll(findings, requirementsFindings(members, requirements, place));
  pushAll(findings, duplicateFindings(duplicates, findings, members, place));
  return { findings, facts };
}

/**
 * The requirements file TorchServe pip-installs: `requirements.txt`, or the one the manifest names.
 * @param members - the model directory's files, relative to it
 * @param requirements - the manifest's `requirementsFile`, if known
 * @param place - what holds the files, for messages
 */
export function requirementsFindings(
  members: ReadonlySet<string>,
  requirements: string | undefined,
  place: string,
): FindingInput[] {
  const shipped = ["requirements.txt", ...(requirements === undefined ? [] : [requirements])].filter(
    (n, i, all) => members.has(n) && all.indexOf(n) === i,
  );
  if (shipped.length === 0) return [];
  return [
    {
      ruleId: "torchserve/requirements",
      message: `the ${place} carries ${shipped.map((n) => JSON.stringify(preview(n, 80))).join(", ")}: TorchServe pip-installs it on registration when install_py_dep_per_model is set`,
      evidence: { member: preview(shipped[0] ?? "", 200) },
    },
  ];
}

/**
 * A manifest that repeats a key of its root or `model` object has more than one reading (this
 * parser and Python keep the last copy, other readers the first): it fails closed on the code files
 * the judged reading did not already report.
 */
function duplicateFindings(
  duplicates: readonly DuplicateKey[],
  judged: readonly FindingInput[],
  members: ReadonlySet<string>,
  place: string,
): FindingInput[] {
  const repeated = duplicates.find((d) => d.path === "" || d.path === "model");
  if (repeated === undefined) return [];
  const skip = new Set<string>();
  for (const f of judged) {
    const member = f.evidence?.member;
    if (
      (f.ruleId === "torchserve/custom-handler" || f.ruleId === "torchserve/model-code") &&
      typeof member === "string"
    )
      skip.add(member);
  }
  const key = repeated.path === "" ? repeated.key : `model.${repeated.key}`;
  return unjudgedFindings(members, `it repeats the key ${JSON.stringify(preview(key, 80))}`, place, [], skip);
}

function missing(key: string, name: string, place: string): FindingInput {
  return {
    ruleId: "torchserve/missing-member",
    message: `the manifest's ${key} ${JSON.stringify(preview(name, 80))} is not in the ${place}`,
    evidence: { key, name: preview(name, 200) },
  };
}
