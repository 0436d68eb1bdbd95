/**
 * HTTP for Hub sources: the shared remote transport (`src/sources/http/transport.ts`) under the
 * names the Hub source has always exported.
 * @module
 */
export * from "../http/transport.js";
