/**
 * Archive-level check of PyTorch, TorchScript and torch.package zips for record names PyTorch's
 * zip reader resolves differently from their stored spelling (`./record-names.ts`): case twins
 * (`archive/data.pkl` beside `archive/DATA.PKL`, one of which the loader reads depending on the
 * entries' order) and records the loader reads under a spelling torch never writes. The members
 * themselves are analysed by the zip container like any other; this only reports the names.
 * @module
 */

import { budgetOf } from "../../containers/budget.js";
import { archiveNames } from "../../containers/zip/flavor.js";
import { openZipEntry } from "../../containers/zip/member.js";
import type { ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { listZip } from "../torchserve/zip-listing.js";
import { asciiLower, recordUnder, torchRecords } from "./record-names.js";

/** Records each torch flavour's loader reads by name (relative to the root, lower case). */
const ROLE_RECORDS: Readonly<Record<string, readonly string[]>> = {
  "pytorch-zip": ["data.pkl", "version", "byteorder", ".data/version", ".data/serialization_id"],
  torchscript: ["data.pkl", "constants.pkl", "bytecode.pkl", "version", "byteorder", ".data/version"],
  "torch-package": [".data/version", ".data/extern_modules"],
};
/** Folders whose members the flavour's loader reads as code. */
const CODE_FOLDERS: Readonly<Record<string, readonly string[]>> = { torchscript: ["code/"] };

/** Most twin groups and misspelled records reported per archive. */
const MAX_REPORTED = 50;

/** Whether a record (lower case, relative to the root) is code or a pickle a torch loader runs. */
function runsCode(record: string): boolean {
  return (
    record.endsWith(".pkl") ||
    record.endsWith(".py") ||
    record.startsWith("code/") ||
    record === ".data/extern_modules" ||
    record === "bytecode.pkl"
  );
}

/** Whether a member opens like a pickle of protocol 2 or later (what torch and PackageExporter write). */
async function opensLikePickle(ctx: AnalysisContext, entry: ZipEntry): Promise<boolean> {
  if (entry.uncompressedSize < 2) return false;
  try {
    const content = await openZipEntry(ctx.source, entry, budgetOf(ctx), undefined, { ignoreEncryptionFlag: true });
    try {
      const head = await readExact(content, 0, Math.min(2, content.size));
      return head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5;
    } finally {
      await content.close?.();
    }
  } catch (error) {
    // a twin that cannot be read (an unsupported method, a broken stream) may be what the loader
    // runs: it counts as a pickle, and the twins are reported at the higher severity
    if (isModelgateError(error) && !isModelgateError(error, "TIMEOUT") && !isModelgateError(error, "ABORTED"))
      return true;
    throw error;
  }
}

/** Reports case twins and misspelled role records of torch-flavoured zips. */
export const torchRecordsAnalyzer: Analyzer = {
  name: "torch-records",
  formats: ["zip"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const listing = await listZip(ctx);
    if (listing === undefined) return;
    // roots of the torch flavours the archive has (lower case → the flavours and the spelling)
    const roots = new Map<string, { root: string; flavors: string[] }>();
    // the list the zip analyzer's flavours and record index were made for (cached per archive)
    const names = archiveNames(ctx.source, listing.names);
    for (const f of ctx.formats.zipFlavors(names, ctx.source)) {
      if (f.archiveRoot === undefined || ROLE_RECORDS[f.format] === undefined) continue;
      const key = asciiLower(f.archiveRoot);
      const at = roots.get(key) ?? { root: f.archiveRoot, flavors: [] };
      at.flavors.push(f.format);
      roots.set(key, at);
    }
    if (roots.size === 0) return;
    const records = torchRecords(names);
    const byName = new Map(listing.entries.map((e) => [e.name, e]));
    let reported = 0;
    for (const { root, flavors } of roots.values()) {
      for (const group of records.ambiguous()) {
        ctx.checkpoint();
        const record = recordUnder(group[0] as string, root);
        const spellings = [...new Set(group)];
        // the same name twice is `zip/duplicate-name` (the zip analyzer's)
        if (record === undefined || spellings.length < 2 || reported >= MAX_REPORTED) continue;
        reported++;
        let code = runsCode(record);
        for (const name of spellings) {
          const entry = byName.get(name);
          if (code || entry === undefined) break;
          code = await opensLikePickle(ctx, entry);
        }
        ctx.report({
          ruleId: "pytorch/record-case-twin",
          ...(code ? {} : { severity: "medium" as const }),
          message: `members ${spellings.map((n) => JSON.stringify(preview(n, 120))).join(", ")} are one record (${JSON.stringify(preview(record, 120))}) to PyTorch's zip reader, which ignores letter case: which of them the loader reads depends on the order of the entries`,
          evidence: {
            record: preview(record, 200),
            members: spellings.slice(0, 10).join(", "),
            flavor: flavors.join(","),
          },
        });
      }
      const canonical = records.root ?? root;
      const roles = new Set(flavors.flatMap((f) => ROLE_RECORDS[f] ?? []));
      for (const role of roles) {
        for (const name of records.resolve(role, root)) {
          if (name === `${canonical}/${role}` || reported >= MAX_REPORTED) continue;
          reported++;
          ctx.report({
            ruleId: "pytorch/record-name-case",
            message: `member ${JSON.stringify(preview(name, 160))} is the record ${role} to PyTorch's zip reader (lookups ignore letter case), a spelling torch never writes`,
            evidence: { member: preview(name, 200), record: role, flavor: flavors.join(",") },
          });
        }
      }
      const folders = new Set(flavors.flatMap((f) => CODE_FOLDERS[f] ?? []));
      for (const folder of folders) {
        const odd = names.find(
          (n) => recordUnder(n, root)?.startsWith(folder) && !n.startsWith(`${canonical}/${folder}`),
        );
        if (odd === undefined || reported >= MAX_REPORTED) continue;
        reported++;
        ctx.report({
          ruleId: "pytorch/record-name-case",
          message: `member ${JSON.stringify(preview(odd, 160))} is under ${folder} to PyTorch's zip reader (lookups ignore letter case), a spelling torch never writes`,
          evidence: { member: preview(odd, 200), record: folder, flavor: flavors.join(",") },
        });
      }
    }
  },
};
