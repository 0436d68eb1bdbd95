/**
 * A `.dvc` file as DVC reads it: a single stage (DVC's single-stage schema). `outs` (optional)
 * lists the artifacts `dvc pull`/`dvc checkout` fetch and write beside it (`path` with its `md5`
 * or other hash, `remote`); `deps` names an import's source (`repo.url`) or URL; a legacy `cmd`
 * (string or list) is a command `dvc repro` runs like a pipeline stage's. A mapping with none of
 * them is a DVC file with nothing to fetch or run (no finding). What DVC refuses (not a mapping,
 * `outs` that is not a list, an output without a path) is `dvc/malformed`.
 * @module
 */
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import {
  addCommands,
  addOutput,
  CommandSearch,
  isObject,
  type Plain,
  type StageWhere,
  stageCommands,
  text,
} from "./stage.js";

/** Output entries looked at most. */
const MAX_OUTS = 10_000;

/** The source repository or URL of an import (`dvc import`, `dvc import-url`), for evidence. */
function importSource(doc: Plain): Record<string, string> {
  const deps = Array.isArray(doc.deps) ? doc.deps : [];
  for (const dep of deps.slice(0, MAX_OUTS)) {
    if (!isObject(dep)) continue;
    const repo = isObject(dep.repo) ? text(dep.repo.url) : undefined;
    if (repo !== undefined) return { repo: preview(repo, 200) };
  }
  return {};
}

/**
 * The findings of one `.dvc` document.
 * @param doc - the document as DVC's loader hands it over
 */
export function pointerFindings(doc: unknown): FindingInput[] {
  const list = new FindingList<FindingInput>();
  if (!isObject(doc)) {
    list.add({ ruleId: "dvc/malformed", message: "the .dvc file is not a mapping: DVC refuses it" });
    return list.list();
  }
  const where: StageWhere = { file: ".dvc", wdir: text(doc.wdir) ?? "." };
  const search = new CommandSearch();
  addCommands(list, stageCommands(doc), where, search);
  const left = search.leftFinding(".dvc");
  if (left !== undefined) list.add(left);
  const outs = doc.outs;
  // `outs: null` (or absent) is no outputs; anything else but a list DVC refuses
  const nullOuts = outs === undefined || (typeof outs === "string" && text(outs) === undefined);
  if (!nullOuts && !Array.isArray(outs)) {
    list.add({ ruleId: "dvc/malformed", message: "the outs of the .dvc file is not a list: DVC refuses it" });
  }
  const extra = importSource(doc);
  for (const [i, out] of (Array.isArray(outs) ? outs : []).slice(0, MAX_OUTS).entries()) {
    const path = isObject(out) ? text(out.path) : undefined;
    if (!isObject(out) || path === undefined) {
      list.add({ ruleId: "dvc/malformed", message: `output ${i} of the .dvc file names no path` });
      continue;
    }
    addOutput(list, { path, fields: out, key: "outs", extra }, where);
  }
  return list.list();
}
