/**
 * The analyzers the engine runs. Add one line per analyzer.
 * @module
 */
import { omsRepoAnalyzer } from "../integrity/oms/analyzer.js";
import { pinsRepoAnalyzer } from "../integrity/pins/analyzer.js";
import type { Analyzer, RepoAnalyzer } from "../scan/types.js";

/** Per-format analyzers, consulted in order for each detection. */
export const ANALYZERS: readonly Analyzer[] = [];

/** Analyzers of the scanned tree as a whole, run after every file. */
export const REPO_ANALYZERS: readonly RepoAnalyzer[] = [pinsRepoAnalyzer, omsRepoAnalyzer];
