/**
 * The S3 source: `s3://bucket/prefix` targets, budgeted listing, ranged reads conditioned on the
 * listed ETag, full-object SHA-256 checksums as pinned digests.
 * @module
 */
export * from "./config.js";
export * from "./root.js";
