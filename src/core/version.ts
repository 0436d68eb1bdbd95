/**
 * The tool's identity.
 * @module
 */

/** Package name. */
export const TOOL_NAME = "modelgate";
/** Package version (kept equal to package.json by a test). */
export const TOOL_VERSION = "0.1.0";
