/**
 * torch.package archives (`torch.package.PackageExporter`): a zip whose root folder holds
 * `.data/version` and `.data/extern_modules`, the package's Python modules (`<pkg>/<module>.py`,
 * `<pkg>/__init__.py`) and pickles saved with `save_pickle`. `PackageImporter.load_pickle` resolves
 * a pickle's globals against the archive's own modules first (only modules listed in
 * `extern_modules` come from the environment), so a global whose top-level module the archive
 * provides runs the archive's code, whatever the name looks like (`collections.OrderedDict` with a
 * `collections/__init__.py` inside). The modules themselves are analysed as members (Python files).
 * @module
 */

import { budgetOf } from "../../containers/budget.js";
import { openZipEntry } from "../../containers/zip/member.js";
import type { ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { preview } from "../../core/preview.js";
import { analyzePickleStream } from "../pickle/analyze.js";
import { pickleBudgets } from "../pickle/analyzer.js";
import { SourceInput } from "../pickle/input.js";
import { picklePolicy } from "../pickle/policy/index.js";
import { listZip } from "../torchserve/zip-listing.js";
import { torchPackageRoot } from "./package-layout.js";

/** Members larger than this are not read for their pickle globals (`scan/budget-exceeded`). */
const MAX_PICKLE_MEMBER = 256 * 1024 * 1024;
/** Most members read for their pickle globals. */
const MAX_PICKLE_MEMBERS = 1000;

/**
 * Top-level modules the archive's Python files provide: `<root>/<top>.py` and `<root>/<top>/...py`
 * (a folder of modules is a namespace package even without `__init__.py`).
 */
function providedModules(root: string, entries: readonly ZipEntry[]): Map<string, string> {
  const provided = new Map<string, string>();
  for (const e of entries) {
    if (!e.name.startsWith(`${root}/`) || !e.name.endsWith(".py")) continue;
    const rest = e.name.slice(root.length + 1);
    if (rest.startsWith(".data/")) continue;
    const slash = rest.indexOf("/");
    const top = slash < 0 ? rest.slice(0, -3) : rest.slice(0, slash);
    if (/^[A-Za-z_]\w*$/.test(top) && !provided.has(top)) provided.set(top, e.name);
  }
  return provided;
}

/** Analyses torch.package archives: pickle globals that name the archive's own modules. */
export const torchPackageAnalyzer: Analyzer = {
  name: "torch-package",
  formats: ["zip"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const listing = await listZip(ctx);
    if (listing === undefined) return;
    const root = torchPackageRoot(listing.names);
    // The `torch-package` zip flavour (the archive keeps the zip analyses: its pickles are members,
    // read with PackageImporter's persistent_load); this analyzer adds what the modules change.
    if (root === undefined) return;
    ctx.fact("torchPackage.root", preview(root, 200));
    const provided = providedModules(root, listing.entries);
    ctx.fact("torchPackage.modules", [...provided.keys()].slice(0, 100));
    if (provided.size === 0) return;
    const policy = picklePolicy("pytorch", ctx.policy.options.pickle);
    let read = 0;
    for (const entry of listing.entries) {
      ctx.checkpoint();
      const rest = entry.name.slice(root.length + 1);
      if (!entry.name.startsWith(`${root}/`) || rest.startsWith(".data/") || entry.name.endsWith(".py")) continue;
      if (entry.uncompressedSize === 0) continue;
      if (entry.uncompressedSize > MAX_PICKLE_MEMBER || read >= MAX_PICKLE_MEMBERS) {
        ctx.report({
          ruleId: "scan/budget-exceeded",
          message: `torch.package member ${JSON.stringify(entry.name)} was not read for the archive modules its pickle names (${read >= MAX_PICKLE_MEMBERS ? `more than ${MAX_PICKLE_MEMBERS} members` : `larger than ${MAX_PICKLE_MEMBER} bytes`})`,
          evidence: { budget: "torchPackagePickles", member: entry.name },
        });
        continue;
      }
      read++;
      const content = await openZipEntry(ctx.source, entry, budgetOf(ctx), undefined, { ignoreEncryptionFlag: true });
      try {
        const head = await readExact(content, 0, Math.min(1, content.size));
        // save_pickle writes protocol 2+ pickles; a protocol 0/1 one opens with an opcode letter
        if (head.length === 0 || !(head[0] === 0x80 || /[(\]}cIJKLMNSTUVX]/.test(String.fromCharCode(head[0] ?? 0))))
          continue;
        const analysis = await analyzePickleStream(new SourceInput(content, 0), {
          context: "pytorch",
          policy: ctx.policy.options.pickle,
          ...pickleBudgets(ctx),
          torchLayout: "package",
          unpeekableReading: false,
        });
        const seen = new Set<string>();
        for (const run of analysis.runs) {
          for (const site of run.machine.refs.values()) {
            const top = site.name.split(".")[0] ?? "";
            const file = provided.get(top);
            if (file === undefined || seen.has(site.name)) continue;
            // A name the allowlist does not trust is reported by the pickle analysis already (and
            // the module as a Python file); an override is a name it trusts, run from the archive.
            if (policy.classify(site.name).status !== "allowed") continue;
            seen.add(site.name);
            if (seen.size > 20) break;
            ctx.report({
              ruleId: "pytorch/package-module-override",
              message: `pickle ${entry.name} names ${preview(site.name, 120)}, and the archive provides the module ${top} (${file}): PackageImporter.load_pickle imports the archive's code for it`,
              evidence: { member: entry.name, global: preview(site.name, 200), module: top, file },
            });
          }
        }
      } finally {
        await content.close?.();
      }
    }
  },
};
