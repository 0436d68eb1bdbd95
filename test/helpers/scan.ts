import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileReport, ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import type { ScanOptions } from "../../src/scan/types.js";

/** Repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The samples folder. */
export const SAMPLES = join(REPO_ROOT, "samples");

/** Scans in-memory bytes under a name and returns the report. */
export function scanBytes(bytes: Uint8Array, name: string, options?: ScanOptions): Promise<ScanReport> {
  return scan({ bytes, name }, options);
}

/** Scans bytes and returns the single file report. */
export async function scanOne(bytes: Uint8Array, name: string, options?: ScanOptions): Promise<FileReport> {
  const report = await scanBytes(bytes, name, options);
  const file = report.files[0];
  if (file === undefined || report.files.length !== 1) throw new Error("expected exactly one file report");
  return file;
}

/** Rule ids of a file report's findings, sorted and deduplicated. */
export function ruleIds(file: FileReport): string[] {
  return [...new Set(file.findings.map((f) => f.ruleId))].sort();
}

/** Scans a path relative to samples/. */
export function scanSample(relative: string, options?: ScanOptions): Promise<ScanReport> {
  return scan(join(SAMPLES, relative), options);
}
