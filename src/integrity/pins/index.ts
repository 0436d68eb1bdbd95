/**
 * The pins module: the scanned tree checked against pinned digests or a lock file.
 * @module
 */
import { type FormatModule, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";
import type { LockFile } from "./lock.js";

declare module "../../core/analyzer.js" {
  interface ScanSections {
    /** Expected SHA-256 digests by POSIX path relative to the scanned directory. */
    readonly pins?: Readonly<Record<string, string>> | undefined;
    /** A lock file (path or parsed) the tree must match. */
    readonly lockFile?: string | LockFile | undefined;
    /** Files present but not pinned are fine. */
    readonly allowUnpinned?: boolean | undefined;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "pinRules");

/** Pins and lock files. */
export const pinsModule = {
  name: "pins",
  repoAnalyzers: [
    lazyRepoAnalyzer(
      "pins",
      async () => (await import("./analyzer.js")).pinsRepoAnalyzer,
      // neither pins nor a lock file: nothing to compare the tree with
      (ctx) => ctx.options.pins === undefined && ctx.options.lockFile === undefined,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
