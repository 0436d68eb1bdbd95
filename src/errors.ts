/**
 * Typed errors: moved to `src/core/errors.ts`; this module re-exports them for code that still
 * imports the old path.
 * @module
 */
export * from "./core/errors.js";
