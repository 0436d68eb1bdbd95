/**
 * The Hugging Face Hub source: `hf://` targets, pinned-commit listing, verified range reads.
 * @module
 */
export * from "./config.js";
export * from "./range-source.js";
export * from "./root.js";
export * from "./transport.js";
