/**
 * The OCI source: `oci://` registry references and image-layout directories, digest-pinned
 * manifests, verified blob reads, and a small push client (monolithic uploads) for tests and docs.
 * @module
 */
export * from "./client.js";
export * from "./config.js";
export * from "./manifest.js";
export * from "./push.js";
export * from "./root.js";
