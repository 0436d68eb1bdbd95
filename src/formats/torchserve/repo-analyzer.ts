/**
 * The TorchServe repository analyzer: model directories written by `torch-model-archiver
 * --archive-format no-archive` (a folder holding `MAR-INF/MANIFEST.json` beside the handler, the
 * serialized model and the extra files), which TorchServe loads from its model store as they are.
 * Each file of the folder was analysed on its own (the handler `.py` by the Python analyzer, the
 * model by its format's); this judges the manifest against the folder's files, as the archive
 * analyzers judge it against an archive's members, and fails closed the same way when the
 * manifest cannot be read or judged. Its YAML files are checked for the Java class tags TorchServe's
 * SnakeYAML reading constructs (java-yaml.ts).
 * @module
 */
import type { RepoAnalyzer, RepoContext } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError, ruleForError } from "../../core/errors.js";
import { isFileChangedError } from "../../sources/file.js";
import { isYamlMember, MAX_YAML_BYTES, reportJavaYaml } from "./java-yaml.js";
import { MANIFEST, membersUnder } from "./manifest.js";
import type { JsonMemberOptions } from "./zip-listing.js";

/** Model directories judged per scan (more: `scan/budget-exceeded` on each one not judged). */
const MAX_DIRECTORIES = 64;

async function readListed(ctx: RepoContext, path: string, options: JsonMemberOptions): Promise<Uint8Array> {
  const source = await ctx.openFile(path);
  try {
    if (source.size > options.maxBytes) {
      throw new ModelgateError("BUDGET_EXCEEDED", `${path} is larger than ${options.maxBytes} bytes`, {
        budget: options.budget,
      });
    }
    return await readExact(source, 0, source.size);
  } finally {
    await source.close?.()?.catch(() => undefined);
  }
}

/** Manifests of unarchived TorchServe model directories. */
export const torchserveRepoAnalyzer: RepoAnalyzer = {
  name: "torchserve",
  async analyze(ctx: RepoContext): Promise<void> {
    const all = ctx.files.filter((f) => f.path === MANIFEST || f.path.endsWith(`/${MANIFEST}`));
    if (all.length === 0) return;
    const manifests = all.slice(0, MAX_DIRECTORIES);
    // a manifest past the budget is not judged, but never silently: its file cannot be clean
    for (const file of all.slice(MAX_DIRECTORIES)) {
      ctx.report(file.path, {
        ruleId: "scan/budget-exceeded",
        message: `the scan holds ${all.length} TorchServe model directories; only ${MAX_DIRECTORIES} were judged`,
        evidence: { budget: "torchserve.maxDirectories", limit: MAX_DIRECTORIES },
      });
    }
    // The manifest judgement loads only when a manifest is there: this analyzer runs on every scan.
    const { MANIFEST_JSON, isContentError, judgeManifest } = await import("./judge.js");
    // Links count as files: TorchServe follows them when it imports the handler.
    const names = ctx.entries.filter((e) => e.kind === "file" || e.kind === "symlink").map((e) => e.path);
    for (const file of manifests) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const root = file.path.slice(0, file.path.length - MANIFEST.length);
      const members = membersUnder(names, root);
      const sink = {
        report: (finding: Parameters<RepoContext["report"]>[1]) => ctx.report(file.path, finding),
        fact: (key: string, value: unknown) => ctx.fact(file.path, key, value),
        checkpoint: () => {
          if (ctx.signal.aborted) throw ctx.signal.reason;
        },
      };
      sink.fact("torchserve.archiveFormat", "no-archive");
      try {
        // content that cannot be judged fails closed inside (torchserve/malformed + every code file)
        await judgeManifest(sink, file.path, () => readListed(ctx, file.path, MANIFEST_JSON), members, "model folder");
      } catch (error) {
        if (ctx.signal.aborted || !isModelgateError(error)) throw error;
        // A failed read never passes in silence: the file is invalid and the scan incomplete. (A
        // manifest the file pass could not read carries its own finding, which the engine does not
        // repeat.) Only content that cannot be judged fails closed; an I/O failure is not content.
        sink.report({
          ruleId: isFileChangedError(error) ? "scan/file-changed" : ruleForError(error),
          message: `the TorchServe manifest could not be read again to judge the model folder: ${error.message}`,
          evidence: { code: error.code },
        });
      }
      // the YAML config TorchServe's frontend reads with SnakeYAML (Java class tags)
      const yaml = [...members]
        .filter((name) => isYamlMember(name))
        .map((name) => ({
          name,
          size: 0,
          read: () =>
            readListed(ctx, `${root}${name}`, {
              ...MANIFEST_JSON,
              maxBytes: MAX_YAML_BYTES,
              budget: "torchserve.maxYamlBytes",
            }),
        }));
      try {
        await reportJavaYaml(sink, yaml, isContentError);
      } catch (error) {
        if (ctx.signal.aborted || !isModelgateError(error)) throw error;
        sink.report({
          ruleId: isFileChangedError(error) ? "scan/file-changed" : ruleForError(error),
          message: `a YAML file of the TorchServe model folder could not be read to check its Java class tags: ${error.message}`,
          evidence: { code: error.code },
        });
      }
    }
  },
};
