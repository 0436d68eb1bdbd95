/**
 * DVC pipeline files: `dvc.yaml` (stages with `cmd`, `deps`, `outs`, `metrics`, `plots`; `foreach`/
 * `matrix` stages with a `do` body) and `dvc.lock` (schema 2: `stages` whose `outs` entries carry
 * `path` and `md5`; schema 1: stages at the top level). Read as DVC's YAML loader hands them over
 * (the caller composed them safely; aliases and merge keys resolved here). Every output is an
 * artifact `dvc pull` fetches (or `dvc repro` writes) that is not in the scanned bytes: reported
 * as not scanned like a `.dvc` pointer's, and as path traversal when it lands outside the file's
 * folder once joined to the stage's `wdir`. Every stage `cmd` is a shell command `dvc repro` runs:
 * reported as evidence (low), medium when it fetches or decodes code and runs it.
 * @module
 */
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { mlmodelPlain } from "../mlflow/plain.js";
import type { PipelineKind } from "./index.js";
import { escapeReason } from "./paths.js";

/** Stages looked at most. */
const MAX_STAGES = 10_000;
/** Output entries looked at most, over all stages. */
const MAX_OUTS = 10_000;
/** Commands of one stage looked at most (`cmd` may be a list). */
const MAX_CMDS = 100;
/** YAML nodes converted at most (aliases count again). */
const MAX_PLAIN_NODES = 100_000;
/** Hash fields DVC records for an output, by preference. */
const HASH_KEYS = ["md5", "sha256", "etag", "checksum", "version_id"] as const;
/** Stage keys that list outputs (each entry a path, a `{path: options}` mapping, or a lock entry with `path`). */
const OUTPUT_KEYS = ["outs", "metrics", "plots"] as const;

/**
 * Command shapes that fetch or decode code and run it (`curl … | sh`, `base64 -d | bash`, `eval`,
 * `/dev/tcp`, inline interpreter code that downloads or executes).
 */
/** Longest command searched for those shapes (a longer one counts as risky: commands are short). */
const MAX_COMMAND_SEARCHED = 64 * 1024;
const RISKY_COMMAND =
  /\b(?:curl|wget|fetch)\b[^\n]{0,512}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|\bbase64\s+(?:-d|--decode)\b[^\n]{0,512}\|\s*(?:ba|z)?sh\b|\beval\b|\/dev\/tcp\/|\bnc\b[^\n]{0,512}\s-e\s|\b(?:python\d?(?:\.\d+)?|perl|ruby|node)\s+-[ce]\s[^\n]{0,512}(?:urllib|requests|socket|exec|eval|system|subprocess|child_process|__import__)/i;

type Plain = Record<string, unknown>;
const isObject = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
/** A YAML string that is not null (`null`, `~`, empty): the failsafe schema keeps every scalar a string. */
const text = (v: unknown): string | undefined =>
  typeof v === "string" && !/^(?:null|Null|NULL|~|)$/.test(v) ? v : undefined;
const isFalse = (v: unknown): boolean => typeof v === "string" && /^(?:false|False|FALSE)$/.test(v);

/** One output as a stage lists it: its path and the entry's options or lock fields. */
interface StageOutput {
  readonly path: string;
  readonly fields: Plain;
  readonly key: (typeof OUTPUT_KEYS)[number];
}

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
        // dvc.yaml: {model.pkl: {cache: false, persist: true}} (one key per entry)
        for (const [path, options] of Object.entries(entry).slice(0, 1)) {
          if (path.length > 0) found.push({ path, fields: isObject(options) ? options : {}, key });
        }
      }
    }
  }
  return found;
}

/** A stage's commands: `cmd` is a string or a list of strings. */
function stageCommands(body: Plain): string[] {
  const cmd = body.cmd;
  if (Array.isArray(cmd))
    return cmd
      .slice(0, MAX_CMDS)
      .map(text)
      .filter((c): c is string => c !== undefined);
  const one = text(cmd);
  return one === undefined ? [] : [one];
}

/** The stages mapping: `stages` (dvc.yaml, dvc.lock schema 2), or the top level of a schema 1 lock. */
function stagesOf(doc: Plain, kind: PipelineKind): Plain | undefined {
  if (isObject(doc.stages)) return doc.stages;
  if (kind === "dvc.lock" && doc.stages === undefined && doc.schema === undefined) return doc;
  return undefined;
}

/**
 * The findings of one pipeline document.
 * @param root - the composed document's contents
 * @param kind - which file it is
 */
export function pipelineFindings(root: unknown, kind: PipelineKind): FindingInput[] {
  const list = new FindingList<FindingInput>();
  const tested = new Map<string, boolean>();
  const doc = mlmodelPlain(root, MAX_PLAIN_NODES);
  const stages = isObject(doc) ? stagesOf(doc, kind) : undefined;
  if (stages === undefined) {
    // dvc.yaml may hold only top-level metrics/plots/params: nothing to fetch or run
    if (kind === "dvc.yaml" && isObject(doc) && doc.stages === undefined) return [];
    list.add({ ruleId: "dvc/malformed", message: `the ${kind} file has no stages mapping DVC reads` });
    return list.list();
  }
  const budget = { left: MAX_OUTS };
  for (const [name, stage] of Object.entries(stages).slice(0, MAX_STAGES)) {
    if (!isObject(stage)) {
      list.add({
        ruleId: "dvc/malformed",
        message: `stage ${JSON.stringify(preview(name, 100))} of ${kind} is not a mapping`,
      });
      continue;
    }
    // foreach / matrix stages keep their body under `do` (dvc.yaml); templates (`${item}`) stay as written
    const body = isObject(stage.do) ? stage.do : stage;
    const wdir = text(body.wdir) ?? text(stage.wdir) ?? ".";
    const where = { stage: preview(name, 100), file: kind, ...(wdir === "." ? {} : { wdir: preview(wdir, 200) }) };
    for (const cmd of stageCommands(body)) {
      // YAML aliases repeat one string many times: each distinct command is searched once
      let risky = tested.get(cmd);
      if (risky === undefined) {
        risky = cmd.length > MAX_COMMAND_SEARCHED || RISKY_COMMAND.test(cmd);
        tested.set(cmd, risky);
      }
      list.add({
        ruleId: "dvc/stage-command",
        message: `dvc repro runs the command of stage ${JSON.stringify(where.stage)}: ${preview(cmd, 200)}${risky ? " (it fetches or decodes code and runs it)" : ""}`,
        evidence: { ...where, cmd: preview(cmd, 400) },
        ...(risky ? { severity: "medium" as const } : {}),
      });
    }
    for (const out of stageOutputs(body, budget)) {
      const hashKey = HASH_KEYS.find((k) => text(out.fields[k]) !== undefined);
      const hash = hashKey === undefined ? undefined : text(out.fields[hashKey]);
      const evidence = {
        path: preview(out.path, 200),
        ...where,
        ...(out.key === "outs" ? {} : { kind: out.key }),
        ...(hashKey === undefined || hash === undefined ? {} : { hashName: hashKey, hash: preview(hash, 100) }),
        ...(text(out.fields.remote) === undefined ? {} : { remote: preview(text(out.fields.remote)!, 200) }),
      };
      // `cache: false` outputs live in git, not in the DVC cache: dvc pull does not fetch them
      if (!isFalse(out.fields.cache)) {
        list.add({
          ruleId: "dvc/external-artifact",
          message: `dvc pull fetches ${JSON.stringify(evidence.path)} (output of stage ${JSON.stringify(where.stage)} in ${kind}${hash === undefined ? "" : `, ${hashKey} ${evidence.hash}`}), which was not scanned`,
          evidence,
        });
      }
      const reason = escapeReason(wdir, out.path);
      if (reason !== undefined) {
        list.add({
          ruleId: "dvc/path-traversal",
          message: `output path ${JSON.stringify(evidence.path)} of stage ${JSON.stringify(where.stage)}${wdir === "." ? "" : ` (wdir ${JSON.stringify(where.wdir)})`} is ${reason}: dvc pull/repro writes the artifact outside the folder`,
          evidence,
        });
      }
    }
  }
  return list.list();
}
