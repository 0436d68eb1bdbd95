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

/** Hash fields DVC records for an output, by preference. */
const HASH_KEYS = ["md5", "sha256", "etag", "checksum", "version_id"] as const;
/** Longest command searched for risky shapes (a longer one counts as risky: commands are short). */
const MAX_COMMAND_SEARCHED = 64 * 1024;
/** Characters of distinct commands one file's search covers; past it, the rest is reported as not searched. */
const MAX_SEARCHED_CHARS = 2 * 1024 * 1024;
/** An interpreter that runs what it reads on stdin (no script argument, or `-`). */
const STDIN_INTERPRETER = String.raw`(?:sudo\s+)?(?:(?:ba|z|da|k)?sh|python\d?(?:\.\d+)?|perl|ruby|node)\b(?:\s+-s\b[^\n;&|)]*|\s+-(?=\s|$))?\s*(?:$|[;&|)\n])`;
/** A program that runs a file given as its argument. */
const FILE_RUNNER = String.raw`(?:sudo\s+)?(?:(?:ba|z|da|k)?sh|source|\.|exec|python\d?(?:\.\d+)?|perl|ruby|node)`;
/**
 * Command shapes that fetch or decode code and run it: a download piped into a shell or an
 * interpreter reading stdin (`curl … | sh`, `wget -qO- … | python`), decoded text piped so
 * (`base64 -d | bash`), anything piped into a bare shell, a command computed at run time
 * (`sh -c "$(…)"`, `bash <(curl …)`, `eval`), `/dev/tcp`, inline interpreter code that
 * downloads or executes.
 */
const RISKY_COMMAND = new RegExp(
  [
    String.raw`\b(?:curl|wget|fetch)\b[^\n]{0,512}\|\s*${STDIN_INTERPRETER}`,
    String.raw`\b(?:base64\s+(?:-d|-D|--decode)|xxd\s+-r|openssl\s+(?:base64|enc)\b[^\n]{0,64}\s-d)\b[^\n]{0,512}\|\s*${STDIN_INTERPRETER}`,
    String.raw`\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\s*(?:-s\b[^\n;&|)]*)?(?:$|[;&|)\n])`,
    String.raw`\b(?:ba|z|da|k)?sh\s+-c\s*["']?\s*(?:\$\(|\`)`,
    String.raw`\b${FILE_RUNNER}\s+<\(`,
    String.raw`(?:^|[\s;&|(\`])eval\s+\S`,
    String.raw`\/dev\/tcp\/`,
    String.raw`\bnc\b[^\n]{0,512}\s-e\s`,
    String.raw`\b(?:python\d?(?:\.\d+)?|perl|ruby|node)\s+-[ce]\s[^\n]{0,512}(?:urllib|requests|socket|exec|eval|system|subprocess|child_process|__import__)`,
  ].join("|"),
  "i",
);

/** Where a download saves: `curl -o F`, `curl --output F`, `wget -O F`, `curl … > F` (F captured). */
const SAVED_TO =
  /\b(?:curl|wget)\b[^\n;&|]{0,512}?(?:\s-[oO]\s*|\s--output(?:-document)?[=\s]\s*|>\s*)['"]?(?:\.\/)?([\w.~/-]{1,256})/gi;
/** A file run: by a shell or an interpreter (`sh F`, `. F`, `python F`), or as a program (`./F`). */
const RUN_FILE = new RegExp(
  String.raw`(?:${FILE_RUNNER}\s+(?:-\w+\s+){0,4}['"]?(?:\.\/)?|(?:^|[\s;&|(])\.\/)([\w.~/-]{1,256})`,
  "gi",
);
/** Downloads and runs looked at per command. */
const MAX_FILE_MATCHES = 256;

/** The files a command names by one pattern (at most {@link MAX_FILE_MATCHES}). */
function filesOf(cmd: string, pattern: RegExp): Set<string> {
  const found = new Set<string>();
  for (const m of cmd.matchAll(pattern)) {
    if (m[1] !== undefined) found.add(m[1]);
    if (found.size >= MAX_FILE_MATCHES) break;
  }
  return found;
}

/** Whether a command saves a download to a file and runs that file (`curl -o a.sh … && sh a.sh`). */
function downloadsThenRuns(cmd: string): boolean {
  if (!/\b(?:curl|wget)\b/i.test(cmd)) return false;
  const saved = filesOf(cmd, SAVED_TO);
  if (saved.size === 0) return false;
  for (const run of filesOf(cmd, RUN_FILE)) if (saved.has(run)) return true;
  return false;
}

/**
 * Whether a command fetches or decodes code and runs it (see {@link RISKY_COMMAND}), or saves a
 * download and runs it (`curl -o a.sh … && sh a.sh`, `wget -O x …; chmod +x x; ./x`).
 * @param cmd - the command as the shell receives it
 */
export function isRiskyCommand(cmd: string): boolean {
  return cmd.length > MAX_COMMAND_SEARCHED || RISKY_COMMAND.test(cmd) || downloadsThenRuns(cmd);
}

/**
 * The search of one file's commands: each distinct command searched once (YAML aliases repeat one
 * string many times), all of them within {@link MAX_SEARCHED_CHARS}; what is past it is counted.
 */
export class CommandSearch {
  private readonly tested = new Map<string, boolean>();
  private left = MAX_SEARCHED_CHARS;
  /** Commands not searched (past the budget). */
  unsearched = 0;

  /** Whether a command is risky; undefined when it is past the budget. */
  risky(cmd: string): boolean | undefined {
    const known = this.tested.get(cmd);
    if (known !== undefined) return known;
    const cost = Math.min(cmd.length, MAX_COMMAND_SEARCHED);
    if (cost > this.left) {
      this.unsearched++;
      return undefined;
    }
    this.left -= cost;
    const risky = isRiskyCommand(cmd);
    this.tested.set(cmd, risky);
    return risky;
  }

  /** The finding for what was not searched, if anything was not. */
  leftFinding(file: string): FindingInput | undefined {
    if (this.unsearched === 0) return undefined;
    return {
      ruleId: "dvc/stage-command",
      severity: "medium",
      message: `${this.unsearched} command(s) of the ${file} file were not searched for fetched or decoded code (past ${MAX_SEARCHED_CHARS} characters of commands): dvc repro runs them`,
      evidence: { file, unsearched: this.unsearched },
    };
  }
}

/** One command as written, and the commands it becomes once DVC interpolates it (when known). */
export interface StageCommand {
  /** As written. */
  readonly written: string;
  /** As run, one per foreach/matrix item; undefined when it is built from values not in the file. */
  readonly resolved?: readonly string[];
}

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
 * A stage's commands: `cmd` is a string or a list of strings (every one of them).
 * @param body - the stage mapping
 */
export function stageCommands(body: Plain): string[] {
  const cmd = body.cmd;
  if (Array.isArray(cmd)) return cmd.map(text).filter((c): c is string => c !== undefined);
  const one = text(cmd);
  return one === undefined ? [] : [one];
}

/**
 * Reports each command `dvc repro` runs for a stage (low; medium when it fetches or decodes code
 * and runs it, when it is built from parameters whose values are not in the file, or when it was
 * not searched).
 * @param list - the findings
 * @param commands - the stage's commands
 * @param where - the stage
 * @param search - the file's command search
 */
export function addCommands(
  list: FindingList<FindingInput>,
  commands: readonly (string | StageCommand)[],
  where: StageWhere,
  search: CommandSearch,
): void {
  for (const entry of commands) {
    const command: StageCommand = typeof entry === "string" ? { written: entry, resolved: [entry] } : entry;
    const cmd = command.written;
    let risky = false;
    let unsearched = false;
    for (const run of command.resolved ?? []) {
      const found = search.risky(run);
      if (found === undefined) unsearched = true;
      else if (found) {
        risky = true;
        break;
      }
    }
    const built = command.resolved === undefined;
    const why = risky
      ? " (it fetches or decodes code and runs it)"
      : built
        ? ` (it is built from parameters (\${…}) whose values are not in this file: what runs was not established)`
        : "";
    list.add({
      ruleId: "dvc/stage-command",
      message: `dvc repro runs the command of ${stageText(where)}: ${preview(cmd, 200)}${why}`,
      evidence: { ...whereEvidence(where), cmd: preview(cmd, 400), ...(built ? { interpolated: true } : {}) },
      ...(risky || built || unsearched ? { severity: "medium" as const } : {}),
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
