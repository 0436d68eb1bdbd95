/**
 * Judges a skops `schema.json`: every node of the tree names a loader (`__loader__`) and a type
 * (`__module__` + `__class__`) that skops would import and construct. Pure: the analyzer reads
 * the archive and reports.
 * @module
 */
import { type FindingInput, FindingList } from "../../core/findings.js";
import { JsonNumber, JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import { deniedName, isTrusted, KNOWN_LOADERS, NAMELESS_LOADERS } from "./trust.js";

/** What the schema says and what loading it would do. */
export interface SchemaAnalysis {
  readonly findings: ReturnType<FindingList["list"]>;
  readonly facts: Record<string, unknown>;
}

const str = (value: JsonValue | undefined): string | undefined => (typeof value === "string" ? value : undefined);

/** Distinct untrusted type names kept as a fact. */
const MAX_TYPE_FACTS = 32;

/**
 * Walks a parsed schema (iteratively: its depth is bounded by the JSON parser only).
 * @param root - the schema's JSON
 * @param members - the archive's file members
 * @param checkpoint - called every few thousand values (abort, timeout)
 */
export function analyzeSchema(
  root: JsonValue,
  members: ReadonlySet<string>,
  checkpoint: () => void = () => {},
): SchemaAnalysis {
  const findings = new FindingList<FindingInput>();
  const facts: Record<string, unknown> = {};
  if (!(root instanceof JsonObject) || str(root.get("__loader__")) === undefined) {
    findings.add({
      ruleId: "skops/malformed",
      message: "schema.json is not a skops node (an object with `__loader__`)",
    });
    return { findings: findings.list(), facts };
  }
  const protocol = root.get("protocol");
  if (!(protocol instanceof JsonNumber) || !protocol.isInteger) {
    findings.add({ ruleId: "skops/malformed", message: "schema.json has no integer `protocol`" });
  } else facts["skops.protocol"] = protocol.value;
  const version = str(root.get("_skops_version"));
  if (version !== undefined) facts.toolVersions = { skops: preview(version, 40) };
  const rootType = nodeName(root);
  if (rootType !== undefined) facts.architecture = preview(rootType, 200);

  const untrusted = new Set<string>();
  let nodes = 0;
  let visited = 0;
  const stack: JsonValue[] = [root];
  while (stack.length > 0) {
    const value = stack.pop() as JsonValue;
    if (++visited % 4096 === 0) checkpoint();
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i] as JsonValue);
      continue;
    }
    if (!(value instanceof JsonObject)) continue;
    const children: JsonValue[] = [];
    for (const [, child] of value.items()) if (typeof child === "object" && child !== null) children.push(child);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as JsonValue);
    if (!isNode(value)) continue;
    nodes++;
    checkNode(value, members, findings, untrusted);
  }
  facts["skops.nodes"] = nodes;
  if (untrusted.size > 0) facts["skops.untrustedTypes"] = [...untrusted].slice(0, MAX_TYPE_FACTS);
  return { findings: findings.list(), facts };
}

/** An object of the tree is a node when it names a loader or a type (as strings). */
function isNode(obj: JsonObject): boolean {
  return (
    typeof obj.get("__loader__") === "string" ||
    typeof obj.get("__module__") === "string" ||
    typeof obj.get("__class__") === "string"
  );
}

function nodeName(obj: JsonObject): string | undefined {
  const module = str(obj.get("__module__"));
  const cls = str(obj.get("__class__"));
  return module === undefined || cls === undefined ? undefined : `${module}.${cls}`;
}

function checkNode(
  node: JsonObject,
  members: ReadonlySet<string>,
  findings: FindingList<FindingInput>,
  untrusted: Set<string>,
): void {
  const loader = str(node.get("__loader__"));
  const module = str(node.get("__module__"));
  const cls = str(node.get("__class__"));
  const at = { charOffset: node.offset };
  if (loader === undefined) {
    findings.add({
      ruleId: "skops/malformed",
      message: `node ${JSON.stringify(preview(`${module ?? "?"}.${cls ?? "?"}`, 80))} has no __loader__`,
      evidence: at,
    });
    return;
  }
  const file = node.get("file");
  if (file !== undefined) {
    if (typeof file !== "string") {
      findings.add({
        ruleId: "skops/malformed",
        message: `${loader} node has a non-string file key`,
        evidence: { loader: preview(loader, 60), ...at },
      });
    } else if (!members.has(file)) {
      findings.add({
        ruleId: "skops/missing-file",
        message: `${loader} node references ${JSON.stringify(preview(file, 80))}, which is not in the archive`,
        evidence: { loader: preview(loader, 60), file: preview(file, 200), ...at },
      });
    }
  }
  const known = KNOWN_LOADERS.has(loader);
  if (!known) {
    findings.add({
      ruleId: "skops/unknown-loader",
      message: `node loader ${JSON.stringify(preview(loader, 60))} is not one skops registers`,
      evidence: { loader: preview(loader, 60), type: preview(`${module ?? "?"}.${cls ?? "?"}`, 200), ...at },
    });
  }
  if (known && NAMELESS_LOADERS.has(loader)) return;
  if (loader === "PartialNode") {
    // PartialNode always builds functools.partial, whatever the node says; its func is a child node.
    reportUntrusted(findings, untrusted, loader, "functools.partial", at);
    return;
  }
  if (module === undefined || cls === undefined) {
    if (known) {
      findings.add({
        ruleId: "skops/malformed",
        message: `${loader} node lacks a string __module__ or __class__`,
        evidence: { loader, ...at },
      });
    }
    return;
  }
  if (loader === "OperatorFuncNode" && module !== "operator") {
    findings.add({
      ruleId: "skops/malformed",
      message: `OperatorFuncNode of module ${JSON.stringify(preview(module, 60))} (skops requires operator)`,
      evidence: { loader, ...at },
    });
  }
  const name = `${module}.${cls}`;
  const moduleParts = module.split(".").length;
  const candidates: { name: string; parts: number }[] = [{ name, parts: moduleParts }];
  if (loader === "MethodNode") {
    const content = node.get("content");
    const func = content instanceof JsonObject ? str(content.get("func")) : undefined;
    if (func !== undefined) candidates.push({ name: `${name}.${func}`, parts: moduleParts });
  }
  for (const candidate of candidates) {
    const denied = deniedName(candidate.name, candidate.parts);
    if (denied !== undefined) {
      findings.add({
        ruleId: "skops/dangerous-type",
        severity: denied.severity,
        message: `${loader} names ${JSON.stringify(preview(candidate.name, 120))} (${denied.category}): skops imports it${loader === "FunctionNode" || loader === "TypeNode" ? " and hands it to the model" : " and calls it"} when the type is trusted`,
        evidence: {
          loader: preview(loader, 60),
          callee: preview(candidate.name, 200),
          category: denied.category,
          ...at,
        },
      });
      return;
    }
  }
  if (known && !isTrusted(loader, name))
    reportUntrusted(findings, untrusted, loader, candidates.at(-1)?.name ?? name, at);
}

function reportUntrusted(
  findings: FindingList<FindingInput>,
  untrusted: Set<string>,
  loader: string,
  name: string,
  at: { charOffset: number },
): void {
  untrusted.add(preview(name, 200));
  findings.add({
    ruleId: "skops/untrusted-type",
    message: `${loader} ${JSON.stringify(preview(name, 120))} is not a type skops trusts by default`,
    evidence: { loader: preview(loader, 60), type: preview(name, 200), ...at },
  });
}
