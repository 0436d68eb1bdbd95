/**
 * The `https://` source: one URL, checked range reads or one hashed full read, pinned digests,
 * origin-scoped credentials; and the HTTP transport every remote source shares.
 * @module
 */
export * from "./config.js";
export * from "./range-reader.js";
export * from "./root.js";
export * from "./transport.js";
