/**
 * Reads the licences a scanned tree states (model cards' front matter, licence files) into the
 * `license` fact of the file that states them, and flags licences the policy lists.
 * @module
 */
import type { RepoAnalyzer, RepoContext } from "../../core/analyzer.js";
import { readClamped } from "../../core/byte-source.js";
import { isModelgateError, ruleForError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { isFileChangedError } from "../../sources/file.js";
import { frontMatter, identifyLicenseText, normaliseLicense } from "./identify.js";

declare module "../../core/analyzer.js" {
  interface PolicySections {
    /** Licences to flag (`license/flagged`): SPDX ids or Hugging Face slugs, compared case-insensitively. */
    readonly licenses?: { readonly flag?: readonly string[] | undefined } | undefined;
  }
}

/** Bytes read of a model card or licence file. */
const MAX_LICENSE_BYTES = 256 * 1024;
/** Licence files looked at, at most (a tree of thousands of READMEs is read no further). */
const MAX_LICENSE_FILES = 64;

const CARD = /(?:^|\/)readme\.md$/i;
const LICENSE_FILE = /(?:^|\/)(?:licen[cs]e|copying)(?:[-._][\w.-]*)?$/i;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * The first {@link MAX_LICENSE_BYTES} of a file as text, or undefined when it cannot be read. A
 * read that failed (the store answered otherwise the second time, a timeout) is reported on the
 * file; a file too large to be read again (`BUDGET_EXCEEDED`) states no licence here; a file the
 * file pass could not read carries its own finding (the engine does not repeat it).
 */
async function readText(ctx: RepoContext, path: string): Promise<string | undefined> {
  let source: Awaited<ReturnType<RepoContext["openFile"]>> | undefined;
  try {
    source = await ctx.openFile(path);
    return utf8.decode(await readClamped(source, 0, MAX_LICENSE_BYTES));
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    if (!isModelgateError(error)) throw error;
    if (error.code === "BUDGET_EXCEEDED") return undefined;
    ctx.report(path, {
      ruleId: isFileChangedError(error) ? "scan/file-changed" : ruleForError(error),
      message: `the licence analysis could not read it: ${error.message}`,
      evidence: { code: error.code },
    });
    return undefined;
  } finally {
    await source?.close?.()?.catch(() => undefined);
  }
}

/**
 * The licences a model card's front matter states (`license`, `license_name`). The YAML parser
 * loads with the first card that has front matter (this analyzer runs on every scan).
 */
async function cardLicenses(card: string): Promise<string[]> {
  const yaml = frontMatter(card);
  if (yaml === undefined) return [];
  const { parse } = await import("yaml");
  let data: unknown;
  try {
    data = parse(yaml, { schema: "failsafe", maxAliasCount: 16, prettyErrors: false });
  } catch {
    return [];
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return [];
  const record = data as Record<string, unknown>;
  const stated = record.license;
  const values = (Array.isArray(stated) ? stated : [stated]).filter((v): v is string => typeof v === "string");
  const out = values.map(normaliseLicense);
  if (out.includes("other") && typeof record.license_name === "string") out.push(normaliseLicense(record.license_name));
  return out.filter((v) => v !== "").slice(0, 16);
}

/** Licence facts and flags. */
export const licenseRepoAnalyzer: RepoAnalyzer = {
  name: "license",
  async analyze(ctx) {
    const flag = new Set((ctx.policy.options.licenses?.flag ?? []).map((l) => normaliseLicense(l).toLowerCase()));
    const candidates = ctx.entries
      .filter((e) => e.kind === "file" && (CARD.test(e.path) || LICENSE_FILE.test(e.path)))
      .slice(0, MAX_LICENSE_FILES);
    for (const entry of candidates) {
      if (ctx.signal.aborted) return;
      const text = await readText(ctx, entry.path);
      if (text === undefined) continue;
      const licenses = CARD.test(entry.path) ? await cardLicenses(text) : [identifyLicenseText(text) ?? "unrecognised"];
      if (licenses.length === 0) continue;
      ctx.fact(entry.path, "license", licenses);
      for (const license of licenses) {
        if (!flag.has(license.toLowerCase())) continue;
        ctx.report(entry.path, {
          ruleId: "license/flagged",
          message: `licence ${preview(license, 60)} is on the policy's list of licences to flag`,
          evidence: { license: preview(license, 60) },
        });
      }
    }
  },
};
