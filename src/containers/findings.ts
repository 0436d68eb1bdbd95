/**
 * The capped finding collector moved to `src/core/findings.ts`; re-exported for code that still
 * imports it from here.
 * @module
 */
export { FindingList } from "../core/findings.js";
