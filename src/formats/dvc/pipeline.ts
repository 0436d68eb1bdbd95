/**
 * DVC pipeline files: `dvc.yaml` (stages with `cmd`, `deps`, `outs`, `metrics`, `plots`; `foreach`/
 * `matrix` stages with a `do` body) and `dvc.lock` (schema 2: `stages` whose `outs` entries carry
 * `path` and `md5`; schema 1: stages at the top level). Read as DVC's YAML loader hands them over
 * (the caller composed them safely; aliases and merge keys resolved here). Every output is an
 * artifact `dvc pull` fetches (or `dvc repro` writes) that is not in the scanned bytes: reported
 * as not scanned like a `.dvc` pointer's, and as path traversal when it lands outside the file's
 * folder once joined to the stage's `wdir`. Every stage `cmd` is a shell command `dvc repro` runs:
 * reported as evidence (low), medium when it fetches or decodes code and runs it or is built from
 * parameters whose values are not in the file (`./interpolate.ts`). Every stage and every command
 * is looked at; what passes a budget is reported, not skipped.
 * @module
 */
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import type { PipelineKind } from "./index.js";
import { inlineVars, resolveCommands, substitutionBudget } from "./interpolate.js";
import {
  addCommands,
  addOutput,
  CommandSearch,
  isObject,
  type Plain,
  type StageOutput,
  type StageWhere,
  stageCommands,
  text,
} from "./stage.js";

/** Output entries looked at most, over all stages (the plain view's node budget bounds the stages). */
const MAX_OUTS = 10_000;
/** Stage keys that list outputs (each entry a path, a `{path: options}` mapping, or a lock entry with `path`). */
const OUTPUT_KEYS = ["outs", "metrics", "plots"] as const;

/** The outputs a stage lists, in the shapes dvc.yaml and dvc.lock write them. */
function stageOutputs(body: Plain, budget: { left: number }): StageOutput[] {
  const found: StageOutput[] = [];
  for (const key of OUTPUT_KEYS) {
    const list = body[key];
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      if (budget.left <= 0) return found;
      budget.left--;
      const plain = text(entry);
      if (plain !== undefined) {
        found.push({ path: plain, fields: {}, key });
      } else if (isObject(entry) && text(entry.path) !== undefined) {
        found.push({ path: text(entry.path)!, fields: entry, key }); // dvc.lock: {path, md5, size, hash}
      } else if (isObject(entry)) {
        // dvc.yaml: {model.pkl: {cache: false, persist: true}}; DVC takes every key of the entry as an output
        for (const [path, options] of Object.entries(entry)) {
          if (budget.left-- <= 0) return found;
          if (path.length > 0) found.push({ path, fields: isObject(options) ? options : {}, key });
        }
      }
    }
  }
  return found;
}

/** The stages mapping: `stages` (dvc.yaml, dvc.lock schema 2), or the top level of a schema 1 lock. */
function stagesOf(doc: Plain, kind: PipelineKind): Plain | undefined {
  if (isObject(doc.stages)) return doc.stages;
  if (kind === "dvc.lock" && doc.stages === undefined && doc.schema === undefined) return doc;
  return undefined;
}

/**
 * The findings of one pipeline document.
 * @param doc - the document as DVC's loader hands it over
 * @param kind - which file it is
 */
export function pipelineFindings(doc: unknown, kind: PipelineKind): FindingInput[] {
  const list = new FindingList<FindingInput>();
  const search = new CommandSearch();
  const stages = isObject(doc) ? stagesOf(doc, kind) : undefined;
  if (stages === undefined) {
    // dvc.yaml may hold only top-level metrics/plots/params: nothing to fetch or run
    const noStages =
      isObject(doc) && (doc.stages === undefined || (typeof doc.stages === "string" && text(doc.stages) === undefined));
    if (kind === "dvc.yaml" && noStages) return [];
    list.add({ ruleId: "dvc/malformed", message: `the ${kind} file has no stages mapping DVC reads` });
    return list.list();
  }
  const budget = { left: MAX_OUTS };
  const substitution = substitutionBudget();
  // dvc.yaml commands are templates (`${name}`); dvc.lock records them as they ran
  const globals = kind === "dvc.yaml" ? inlineVars(isObject(doc) ? doc.vars : undefined) : new Map<string, string>();
  let skippedOutputs = false;
  for (const [name, stage] of Object.entries(stages)) {
    if (!isObject(stage)) {
      list.add({
        ruleId: "dvc/malformed",
        message: `stage ${JSON.stringify(preview(name, 100))} of ${kind} is not a mapping`,
      });
      continue;
    }
    // foreach stages keep their body under `do` (dvc.yaml); matrix stages keep it beside `matrix`;
    // templates (`${item}`) stay as written
    const body = isObject(stage.do) ? stage.do : stage;
    const where: StageWhere = { file: kind, stage: name, wdir: text(body.wdir) ?? text(stage.wdir) ?? "." };
    const commands = stageCommands(body);
    addCommands(
      list,
      kind === "dvc.yaml" ? resolveCommands(commands, stage, globals, substitution) : commands,
      where,
      search,
    );
    for (const out of stageOutputs(body, budget)) addOutput(list, out, where);
    if (budget.left <= 0) skippedOutputs = true;
  }
  const left = search.leftFinding(kind);
  if (left !== undefined) list.add(left);
  if (skippedOutputs) {
    list.add({
      ruleId: "dvc/malformed",
      message: `the ${kind} file lists more than ${MAX_OUTS} outputs: the rest were not examined`,
    });
  }
  return list.list();
}
