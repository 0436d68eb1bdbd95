/**
 * Policy files: `.modelgate.json` found in the scanned directory or its ancestors, or a file named
 * by the caller.
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ModelgateError } from "../errors.js";
import { type PolicyOptions, validatePolicy } from "./policy.js";

/** Name of the policy file looked up in the scanned directory and its ancestors. */
export const POLICY_FILE_NAME = ".modelgate.json";
/** Largest policy file read. */
export const MAX_POLICY_BYTES = 1 << 20;

/**
 * Reads and validates a policy file. `signature.keyFile` (a PEM file, relative to the policy file)
 * is read into `signature.key`, so the policy hash covers the key itself. The result records the
 * file in `source`.
 * @param path - the policy file
 * @throws ModelgateError `POLICY` for unreadable, non-JSON or invalid policies, naming the field
 */
export async function loadPolicyFile(path: string): Promise<PolicyOptions> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error("not a regular file");
    if (info.size > MAX_POLICY_BYTES) throw new Error(`larger than ${MAX_POLICY_BYTES} bytes`);
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ModelgateError("POLICY", `${path}: cannot read policy: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelgateError("POLICY", `${path}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    const signature = (json as Record<string, unknown>).signature;
    if (signature !== null && typeof signature === "object" && "keyFile" in signature) {
      const { keyFile, ...rest } = signature as Record<string, unknown>;
      if (typeof keyFile !== "string" || keyFile === "") {
        throw new ModelgateError("POLICY", `${path}: signature.keyFile: must be a path to a PEM public key`);
      }
      if ("key" in rest) throw new ModelgateError("POLICY", `${path}: signature: give key or keyFile, not both`);
      const keyPath = isAbsolute(keyFile) ? keyFile : join(dirname(path), keyFile);
      try {
        rest.key = await readFile(keyPath, "utf8");
      } catch (error) {
        throw new ModelgateError("POLICY", `${path}: signature.keyFile: cannot read ${keyPath}`, { cause: error });
      }
      json = { ...(json as Record<string, unknown>), signature: rest };
    }
  }
  const options = validatePolicy(json, path);
  return { ...options, source: path };
}

/**
 * Finds the policy file that applies to a path: `.modelgate.json` in the path itself (when it is a
 * directory), else in its parent, then in each ancestor up to the filesystem root.
 * @param target - a file or directory (relative paths resolve against the working directory)
 * @returns the policy file's path, or undefined when there is none
 */
export async function findPolicyFile(target: string): Promise<string | undefined> {
  let dir = resolve(target);
  try {
    if (!(await stat(dir)).isDirectory()) dir = dirname(dir);
  } catch {
    dir = process.cwd();
  }
  for (;;) {
    const candidate = join(dir, POLICY_FILE_NAME);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The policy for a scan target: the nearest `.modelgate.json`, loaded and validated.
 * @param target - a file or directory
 * @returns the policy, or undefined when no policy file applies
 */
export async function discoverPolicy(target: string): Promise<PolicyOptions | undefined> {
  const file = await findPolicyFile(target);
  return file === undefined ? undefined : loadPolicyFile(file);
}
