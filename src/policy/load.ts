/**
 * Policy files. A policy is configuration, never input: it is named by the caller
 * ({@link loadPolicyFile}) or found from the working directory upward ({@link discoverPolicy}, as
 * linters find their configuration), never in the scanned target or its ancestors. Policy and key
 * files are read with {@link readTrustedFile}: regular files only (no link, FIFO or device), not
 * writable by group or others, owned by the current user or root, size-capped.
 * @module
 */
import { lstat, realpath, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { ModelgateError } from "../core/errors.js";
import { readTrustedFile } from "../sources/safe-read.js";
import type { PolicyOptions } from "./policy.js";

/** Name of the policy file looked up in the working directory and its ancestors. */
export const POLICY_FILE_NAME = ".modelgate.json";
/** Largest policy file read. */
export const MAX_POLICY_BYTES = 1 << 20;
/** Largest key file (`signature.keyFile`) read. */
export const MAX_KEY_BYTES = 64 << 10;

const decoder = new TextDecoder("utf-8");

/**
 * Reads and validates a policy file. `signature.keyFile` (a PEM file inside the policy file's
 * folder, relative to it) is read into `signature.key`, so the policy hash covers the key itself.
 * The result records the file in `source`.
 * @param path - the policy file (relative paths resolve against the working directory)
 * @throws ModelgateError `POLICY` for unreadable, untrusted (a link, FIFO or device; writable by
 *   group or others; owned by another user; too large), non-JSON or invalid policies, naming the field
 */
export async function loadPolicyFile(path: string): Promise<PolicyOptions> {
  const file = await readTrustedFile(path, { maxBytes: MAX_POLICY_BYTES, what: "policy", code: "POLICY" });
  const source = file.path;
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(file.bytes));
  } catch (error) {
    throw new ModelgateError("POLICY", `${source}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    const signature = (json as Record<string, unknown>).signature;
    if (signature !== null && typeof signature === "object" && "keyFile" in signature) {
      const { keyFile, ...rest } = signature as Record<string, unknown>;
      if (typeof keyFile !== "string" || keyFile === "") {
        throw new ModelgateError("POLICY", `${source}: signature.keyFile: must be a path to a PEM public key`);
      }
      if ("key" in rest) throw new ModelgateError("POLICY", `${source}: signature: give key or keyFile, not both`);
      try {
        const key = await readTrustedFile(keyFile, {
          maxBytes: MAX_KEY_BYTES,
          within: dirname(source),
          what: "key file",
          code: "POLICY",
        });
        rest.key = decoder.decode(key.bytes);
      } catch (error) {
        throw new ModelgateError("POLICY", `${source}: signature.keyFile: ${(error as Error).message}`, {
          cause: error,
        });
      }
      json = { ...(json as Record<string, unknown>), signature: rest };
    }
  }
  // The schema (zod) loads only when there is a policy file to validate.
  const { validatePolicy } = await import("./policy.js");
  const options = validatePolicy(json, source);
  return { ...options, source };
}

/** Options of {@link findPolicyFile} and {@link discoverPolicy}. */
export interface DiscoverPolicyOptions {
  /** Where the search starts (default: the process's working directory). Never the scan target. */
  cwd?: string;
  /**
   * Called when the search stops at a folder that others can write to (the system temp folder)
   * and that folder holds a `.modelgate.json`, which is ignored.
   */
  onIgnored?: (file: string, reason: string) => void;
  /**
   * Folders whose content is input (the scanned targets): a `.modelgate.json` inside one of them is
   * ignored (`onIgnored`) and the search goes on above it, so `cd model && modelgate scan .` never
   * takes its policy from the model. A `.modelgate.json` found in a folder that holds a target
   * (above it) is an error (`POLICY`): it may be the project's or have come with the material
   * (`cd model-repo && modelgate scan weights`), so the caller names it (`--policy`) or not.
   */
  exclude?: readonly string[];
}

/**
 * Finds the policy file that applies to a run: `.modelgate.json` in the working directory, else
 * in its parent, then each ancestor up to the filesystem root. The search stops at a folder that
 * others can write to (mode `o+w`, such as `/tmp`): a file there may have been put there by
 * anyone, so neither it nor anything above is used.
 * @param options - the starting folder
 * @returns the policy file's path, or undefined when there is none
 * @throws ModelgateError `POLICY` when the file found lies in a folder that holds a target
 *   (`options.exclude`): whose it is cannot be told
 */
export async function findPolicyFile(options: DiscoverPolicyOptions = {}): Promise<string | undefined> {
  if (typeof options !== "object" || options === null) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      "findPolicyFile/discoverPolicy take { cwd }: a policy is found from the working directory, never from the scanned target (use loadPolicyFile(path) for a named policy)",
    );
  }
  let dir: string;
  try {
    dir = resolve(options.cwd ?? process.cwd());
  } catch {
    return undefined; // the working directory is gone
  }
  const excluded = await Promise.all((options.exclude ?? []).map((t) => realpath(resolve(t)).catch(() => resolve(t))));
  for (;;) {
    const candidate = join(dir, POLICY_FILE_NAME);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(dir);
    } catch {
      return undefined;
    }
    let present = true;
    try {
      await lstat(candidate);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      present = !(errno === "ENOENT" || errno === "ENOTDIR");
    }
    if ((info.mode & 0o002) !== 0 && process.platform !== "win32") {
      if (present) options.onIgnored?.(candidate, `${dir} is writable by others`);
      return undefined;
    }
    const real = await realpath(dir).catch(() => dir);
    if (present && excluded.some((t) => within(real, t))) {
      options.onIgnored?.(candidate, `${dir} is inside a scanned target (input, not configuration)`);
      present = false;
    }
    const holds = present ? excluded.find((t) => within(t, real)) : undefined;
    if (holds !== undefined) {
      // A policy above a target, in a folder that holds it: the project's own, or one that came
      // with the downloaded material the user is scanning from inside. Nothing tells them apart
      // (a checkout marker can be planted or missing), so neither is used nor silently dropped.
      throw new ModelgateError(
        "POLICY",
        `${candidate} is in a folder that holds the scanned target ${holds}: it may have come with the material scanned. Name it with --policy to use it, or pass --no-policy (or run from elsewhere)`,
      );
    }
    // Whatever is there (a link, a FIFO...) is returned: loadPolicyFile refuses it loudly.
    if (present) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Whether `path` is `dir` or inside it (both resolved). */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/**
 * The policy of a run: the nearest `.modelgate.json` from the working directory upward (see
 * {@link findPolicyFile}), loaded and validated. The scanned target plays no part.
 * @param options - the starting folder
 * @returns the policy, or undefined when no policy file applies
 * @throws ModelgateError `POLICY` when the file found is untrusted or invalid
 */
export async function discoverPolicy(options: DiscoverPolicyOptions = {}): Promise<PolicyOptions | undefined> {
  const file = await findPolicyFile(options);
  return file === undefined ? undefined : loadPolicyFile(file);
}
