/**
 * What one DVC stage does, as findings: the one place that reports a stage's outputs (an artifact
 * `dvc pull` fetches that was not scanned; path traversal when the output lands outside the file's
 * folder once joined to `wdir`) and its commands (what `dvc repro` runs). A `.dvc` pointer file is
 * a single stage (`outs`, and in the legacy form a `cmd`), a `dvc.yaml`/`dvc.lock` stage is one of
 * many: both are reported here, so both say the same.
 * @module
 */
import type { FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { escapeReason } from "./paths.js";

/** A mapping as DVC's YAML loader hands it over. */
export type Plain = Record<string, unknown>;
export const isObject = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
/** A YAML string that is not null (`null`, `~`, empty): the failsafe schema keeps every scalar a string. */
export const text = (v: unknown): string | undefined =>
  typeof v === "string" && !/^(?:null|Null|NULL|~|)$/.test(v) ? v : undefined;
/** YAML's false, as DVC's loader reads it. */
export const isFalse = (v: unknown): boolean => typeof v === "string" && /^(?:false|False|FALSE)$/.test(v);

/** Commands of one stage looked at most (`cmd` may be a list). */
const MAX_CMDS = 100;
/** Hash fields DVC records for an output, by preference. */
const HASH_KEYS = ["md5", "sha256", "etag", "checksum", "version_id"] as const;
/** Longest command searched for risky shapes (a longer one counts as risky: commands are short). */
const MAX_COMMAND_SEARCHED = 64 * 1024;
/**
 * Command shapes that fetch or decode code and run it (`curl … | sh`, `base64 -d | bash`, `eval`,
 * `/dev/tcp`, inline interpreter code that downloads or executes).
 */
const RISKY_COMMAND =
  /\b(?:curl|wget|fetch)\b[^\n]{0,512}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|\bbase64\s+(?:-d|--decode)\b[^\n]{0,512}\|\s*(?:ba|z)?sh\b|\beval\b|\/dev\/tcp\/|\bnc\b[^\n]{0,512}\s-e\s|\b(?:python\d?(?:\.\d+)?|perl|ruby|node)\s+-[ce]\s[^\n]{0,512}(?:urllib|requests|socket|exec|eval|system|subprocess|child_process|__import__)/i;

/** Where a stage is: its name (pipeline files), its file and its `wdir`. */
export interface StageWhere {
  /** The file kind (`.dvc`, `dvc.yaml`, `dvc.lock`). */
  readonly file: string;
  /** The stage name; undefined for a `.dvc` file's single stage. */
  readonly stage?: string;
  /** The stage's `wdir` (`.` when absent). */
  readonly wdir: string;
}

/** One output: its path and the entry's options or lock fields. */
export interface StageOutput {
  readonly path: string;
  readonly fields: Plain;
  /** The key that lists it (`outs`, `metrics`, `plots`). */
  readonly key: string;
  /** Extra evidence (a `.dvc` import's source repository). */
  readonly extra?: Record<string, string>;
}

/** The evidence naming a stage. */
function whereEvidence(where: StageWhere): Record<string, string> {
  return {
    ...(where.stage === undefined ? {} : { stage: preview(where.stage, 100) }),
    file: where.file,
    ...(where.wdir === "." ? {} : { wdir: preview(where.wdir, 200) }),
  };
}

/** "stage "train" in dvc.yaml" or "the .dvc file". */
const stageText = (where: StageWhere): string =>
  where.stage === undefined
    ? `the ${where.file} file`
    : `stage ${JSON.stringify(preview(where.stage, 100))} in ${where.file}`;

/**
 * A stage's commands: `cmd` is a string or a list of strings.
 * @param body - the stage mapping
 */
export function stageCommands(body: Plain): string[] {
  const cmd = body.cmd;
  if (Array.isArray(cmd))
    return cmd
      .slice(0, MAX_CMDS)
      .map(text)
      .filter((c): c is string => c !== undefined);
  const one = text(cmd);
  return one === undefined ? [] : [one];
}

/**
 * Reports each command `dvc repro` runs for a stage (low; medium when it fetches or decodes code and runs it).
 * @param list - the findings
 * @param commands - the stage's commands
 * @param where - the stage
 * @param tested - commands already searched (YAML aliases repeat one string many times)
 */
export function addCommands(
  list: FindingList<FindingInput>,
  commands: readonly string[],
  where: StageWhere,
  tested: Map<string, boolean>,
): void {
  for (const cmd of commands) {
    let risky = tested.get(cmd);
    if (risky === undefined) {
      risky = cmd.length > MAX_COMMAND_SEARCHED || RISKY_COMMAND.test(cmd);
      tested.set(cmd, risky);
    }
    list.add({
      ruleId: "dvc/stage-command",
      message: `dvc repro runs the command of ${stageText(where)}: ${preview(cmd, 200)}${risky ? " (it fetches or decodes code and runs it)" : ""}`,
      evidence: { ...whereEvidence(where), cmd: preview(cmd, 400) },
      ...(risky ? { severity: "medium" as const } : {}),
    });
  }
}

/**
 * Reports one output: not scanned (unless `cache: false`, which keeps it in git), and path
 * traversal when it lands outside the folder once joined to the stage's `wdir`.
 * @param list - the findings
 * @param out - the output
 * @param where - its stage
 */
export function addOutput(list: FindingList<FindingInput>, out: StageOutput, where: StageWhere): void {
  const hashKey = HASH_KEYS.find((k) => text(out.fields[k]) !== undefined);
  const hash = hashKey === undefined ? undefined : text(out.fields[hashKey]);
  const remote = text(out.fields.remote);
  const evidence = {
    path: preview(out.path, 200),
    ...whereEvidence(where),
    ...(out.key === "outs" ? {} : { kind: out.key }),
    ...(hashKey === undefined || hash === undefined ? {} : { hashName: hashKey, hash: preview(hash, 100) }),
    ...(typeof out.fields.size === "string" ? { size: preview(out.fields.size, 40) } : {}),
    ...(remote === undefined ? {} : { remote: preview(remote, 200) }),
    ...out.extra,
  };
  const of = where.stage === undefined ? "" : `output of ${stageText(where)}`;
  const hashed = hash === undefined ? "" : `${hashKey} ${evidence.hash}`;
  const detail = [of, hashed].filter((s) => s !== "").join(", ");
  if (!isFalse(out.fields.cache)) {
    list.add({
      ruleId: "dvc/external-artifact",
      message: `dvc pull fetches ${JSON.stringify(evidence.path)}${detail === "" ? "" : ` (${detail})`}, which was not scanned`,
      evidence,
    });
  }
  const reason = escapeReason(where.wdir, out.path);
  if (reason !== undefined) {
    list.add({
      ruleId: "dvc/path-traversal",
      message: `output path ${JSON.stringify(evidence.path)} of ${stageText(where)}${where.wdir === "." ? "" : ` (wdir ${JSON.stringify(preview(where.wdir, 200))})`} is ${reason}: dvc pull/checkout/repro writes the artifact outside the folder`,
      evidence,
    });
  }
}
