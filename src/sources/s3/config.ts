/**
 * `s3://bucket[/prefix]` targets.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";

/** A bucket and key prefix named by an `s3://` URI. */
export interface S3Uri {
  /** Bucket name. */
  bucket: string;
  /** Key prefix (empty for the whole bucket). */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Checks a bucket name (3–63 characters: lowercase letters, digits, dots, hyphens).
 * @param bucket - the name
 * @throws ModelgateError `INVALID_ARGUMENT` when it is not one
 */
export function checkBucket(bucket: string): void {
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    throw new ModelgateError("INVALID_ARGUMENT", `not an S3 bucket name: "${bucket.slice(0, 100)}"`);
  }
}

/**
 * Parses `s3://bucket[/prefix]`. A prefix ending in `/` (or none) is a folder; otherwise it names
 * one object or a folder of that name (`s3://b/models/x` lists `models/x` and `models/x/…`).
 * @param uri - the URI
 * @throws ModelgateError `INVALID_ARGUMENT` when it is malformed
 */
export function parseS3Uri(uri: string): S3Uri {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(uri);
  if (m === null) throw new ModelgateError("INVALID_ARGUMENT", `not an s3:// URI: "${uri.slice(0, 200)}"`);
  const bucket = m[1] ?? "";
  checkBucket(bucket);
  const prefix = m[2] ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
  if (prefix.length > 1024 || /[\u0000-\u001f\u007f]/.test(prefix)) {
    throw new ModelgateError("INVALID_ARGUMENT", "invalid S3 key prefix");
  }
  return { bucket, prefix };
}

/**
 * A key as a path relative to the listed prefix (a single object's base name).
 * @param key - the object key
 * @param prefix - the listed prefix
 */
export function relativeKey(key: string, prefix: string): string {
  if (!key.startsWith(prefix)) {
    throw new ModelgateError("MALFORMED", `key ${JSON.stringify(key.slice(0, 200))} is outside the prefix`);
  }
  if (prefix === "" || prefix.endsWith("/")) return key.slice(prefix.length);
  if (key === prefix) return key.split("/").pop() ?? key;
  return key.slice(prefix.length + 1);
}
