/**
 * The report format's version, apart from the zod schemas of `schema.ts` (which re-exports it), so
 * that the engine can stamp reports without loading zod.
 * @module
 */

/** Version of the report format. Additive changes bump the minor version. */
export const REPORT_SCHEMA_VERSION = "1.3.0";
