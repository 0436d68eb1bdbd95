/**
 * Hub targets: `hf://` URIs, repository ids, and the endpoint and token settings that
 * `huggingface_hub` reads from the environment.
 * @module
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ModelgateError } from "../../core/errors.js";

/** The public Hub. */
export const DEFAULT_HUB_URL = "https://huggingface.co";

/** The kinds of Hub repositories. */
export type HubRepoType = "model" | "dataset" | "space";

/** A repository, revision and optional paths named by an `hf://` URI. */
export interface HubUri {
  /**
   * The repository as {@link HubTarget.repo} takes it: `owner/name` for a model,
   * `datasets/owner/name` for a dataset, `spaces/owner/name` for a Space.
   */
  repo: string;
  /** `dataset` or `space` (`parseHubUri` leaves it out for a model repository). */
  repoType?: HubRepoType;
  /** Branch, tag or commit; undefined means `main`. */
  revision?: string;
  /** A file or folder inside the repository. */
  path?: string;
}

const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

/** URL segment of each repository type (`/api/{segment}/...`, `/{segment}/{repo}/resolve/...`). */
const TYPE_PREFIX = { model: "models", dataset: "datasets", space: "spaces" } as const;

/**
 * Checks a repository id (`owner/name`).
 * @param repo - the id
 * @throws ModelgateError `INVALID_ARGUMENT` when it is not one
 */
export function checkRepoId(repo: string): void {
  const parts = repo.split("/");
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p) && !p.includes("..") && !p.includes("--"))) {
    throw new ModelgateError("INVALID_ARGUMENT", `not a Hub repository id (owner/name): "${repo}"`);
  }
}

/**
 * Splits a repository designation (`owner/name`, `models/owner/name`, `datasets/owner/name`,
 * `spaces/owner/name`) into its type and id, checking both.
 * @param repo - the designation
 * @param repoType - the type the caller states, if any: it must agree with a prefix
 * @throws ModelgateError `INVALID_ARGUMENT` for a bad id or a type that contradicts the prefix
 */
export function splitRepo(repo: string, repoType?: HubRepoType): { type: HubRepoType; id: string } {
  const m = /^(models|datasets|spaces)\/(.*)$/.exec(repo);
  const prefixed = m === null ? undefined : m[1] === "datasets" ? "dataset" : m[1] === "spaces" ? "space" : "model";
  const id = m === null ? repo : m[2]!;
  if (repoType !== undefined && !(repoType in TYPE_PREFIX)) {
    throw new ModelgateError("INVALID_ARGUMENT", `unknown Hub repository type "${String(repoType)}"`);
  }
  if (prefixed !== undefined && repoType !== undefined && prefixed !== repoType) {
    throw new ModelgateError("INVALID_ARGUMENT", `"${repo}" is not a ${repoType} repository`);
  }
  checkRepoId(id);
  return { type: prefixed ?? repoType ?? "model", id };
}

/**
 * The designation of a repository: `owner/name` for a model, `datasets/owner/name` or
 * `spaces/owner/name` otherwise (what reports record as `target.hub.repo`).
 * @param type - the repository type
 * @param id - `owner/name`
 */
export function repoDesignation(type: HubRepoType, id: string): string {
  return type === "model" ? id : `${TYPE_PREFIX[type]}/${id}`;
}

/**
 * The URL path segment of a repository type, as the Hub's API names it (`models`, `datasets`,
 * `spaces`).
 * @param type - the repository type
 */
export function repoTypeSegment(type: HubRepoType): "models" | "datasets" | "spaces" {
  return TYPE_PREFIX[type];
}

/**
 * Checks a revision (branch, tag, `refs/pr/N` or commit).
 * @param revision - the revision
 * @throws ModelgateError `INVALID_ARGUMENT` for an empty one, `..`, control characters or spaces
 */
export function checkRevision(revision: string): void {
  // Same spirit as git check-ref-format: no traversal, control characters, spaces or odd syntax.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
  if (revision === "" || revision.length > 255 || /[\u0000-\u0020\u007f~^:?*[\\]|\.\.|@\{|^\/|\/$/.test(revision)) {
    throw new ModelgateError("INVALID_ARGUMENT", `invalid revision "${revision}"`);
  }
}

/**
 * Checks a path inside a repository as a git tree could hold it.
 * @param path - a POSIX path relative to the repository root
 * @returns a reason when the path is not acceptable, else undefined
 */
export function badRepoPath(path: string): string | undefined {
  if (path === "" || path.length > 4096) return "empty or overlong path";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return "control character or backslash in path";
  if (path.startsWith("/")) return "absolute path";
  if (path.split("/").some((s) => s === "" || s === "." || s === "..")) return "empty, '.' or '..' segment";
  return undefined;
}

/**
 * Parses `hf://owner/name[@revision][/path]` (`hf://models/owner/name...` too), and
 * `hf://datasets/owner/name...` and `hf://spaces/owner/name...` for datasets and Spaces. A revision
 * containing `/` is percent-encoded (`@refs%2Fpr%2F3`), except `refs/pr/N` and
 * `refs/convert/NAME`, which are recognised as such.
 * @param uri - the URI
 * @throws ModelgateError `INVALID_ARGUMENT` when it is malformed
 */
export function parseHubUri(uri: string): HubUri {
  const m = /^hf:\/\/(.*)$/.exec(uri);
  if (m === null) throw new ModelgateError("INVALID_ARGUMENT", `not an hf:// URI: "${uri}"`);
  const segments = m[1]!.split("/");
  let repoType: HubRepoType = "model";
  if (segments[0] === "models") segments.shift();
  else if (segments[0] === "datasets" || segments[0] === "spaces") {
    repoType = segments.shift() === "datasets" ? "dataset" : "space";
  }
  const owner = segments.shift() ?? "";
  let nameRev = segments.shift() ?? "";
  const at = nameRev.indexOf("@");
  let revision: string | undefined;
  if (at >= 0) {
    let raw = nameRev.slice(at + 1);
    nameRev = nameRev.slice(0, at);
    if (raw === "refs" && segments.length >= 2 && /^(pr|convert)$/.test(segments[0]!)) {
      raw = `refs/${segments.shift()}/${segments.shift()}`;
    }
    try {
      revision = decodeURIComponent(raw);
    } catch {
      throw new ModelgateError("INVALID_ARGUMENT", `bad percent-encoding in revision of "${uri}"`);
    }
    checkRevision(revision);
  }
  const id = `${owner}/${nameRev}`;
  checkRepoId(id);
  const result: HubUri = { repo: repoDesignation(repoType, id) };
  if (repoType !== "model") result.repoType = repoType;
  if (revision !== undefined) result.revision = revision;
  const path = segments.join("/").replace(/\/+$/, "");
  if (path !== "") {
    const bad = badRepoPath(path);
    if (bad !== undefined) throw new ModelgateError("INVALID_ARGUMENT", `bad path in "${uri}": ${bad}`);
    result.path = path;
  }
  return result;
}

/**
 * Formats a repository, revision and path back into an `hf://` URI (`hf://datasets/...` and
 * `hf://spaces/...` for a `repo` so prefixed or a `repoType` so stated).
 * @param uri - the parts
 */
export function formatHubUri(uri: HubUri): string {
  // No validation: it names targets that may have failed to parse.
  const prefixed = /^(models|datasets|spaces)\//.test(uri.repo);
  const repo = prefixed || uri.repoType === undefined ? uri.repo : repoDesignation(uri.repoType, uri.repo);
  const rev =
    uri.revision === undefined
      ? ""
      : `@${/^refs\/(pr|convert)\/[^/]+$/.test(uri.revision) ? uri.revision : encodeURIComponent(uri.revision)}`;
  return `hf://${repo.replace(/^models\//, "")}${rev}${uri.path === undefined ? "" : `/${uri.path}`}`;
}

/** Endpoint and token a Hub source uses. */
export interface HubSettings {
  /** Base URL, without a trailing slash. */
  hubUrl: string;
  /** Access token, when there is one. */
  token?: string;
}

/** Environment variables as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|on|yes|true)$/i.test(v.trim());

/**
 * Resolves endpoint and token the way `huggingface_hub` does: an explicit value wins; else
 * `HF_ENDPOINT` (trailing `/` removed) or the public Hub; the token from `HF_TOKEN`, else
 * `HUGGING_FACE_HUB_TOKEN`, else the token file (`HF_TOKEN_PATH`, else `$HF_HOME/token`, where
 * `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`), unless
 * `HF_HUB_DISABLE_IMPLICIT_TOKEN` is set. `HF_HUB_OFFLINE` makes Hub scans fail.
 * @param explicit - values the caller passed
 * @param env - the environment (default `process.env`)
 * @throws ModelgateError `INVALID_ARGUMENT` for a bad URL, `NETWORK` in offline mode
 */
export async function resolveHubSettings(
  explicit: { hubUrl?: string | undefined; token?: string | undefined },
  env: Env = process.env,
): Promise<HubSettings> {
  if (truthy(env.HF_HUB_OFFLINE)) {
    throw new ModelgateError("NETWORK", "HF_HUB_OFFLINE is set: the Hub cannot be scanned offline");
  }
  const raw = explicit.hubUrl ?? (env.HF_ENDPOINT?.trim() || DEFAULT_HUB_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ModelgateError("INVALID_ARGUMENT", `invalid Hub URL "${raw}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ModelgateError("INVALID_ARGUMENT", `Hub URL must be http(s): "${raw}"`);
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new ModelgateError("INVALID_ARGUMENT", `Hub URL must not carry credentials, a query or a fragment`);
  }
  const settings: HubSettings = { hubUrl: url.href.replace(/\/+$/, "") };
  const token = explicit.token ?? (truthy(env.HF_HUB_DISABLE_IMPLICIT_TOKEN) ? undefined : await implicitToken(env));
  if (token !== undefined && token.trim() !== "") settings.token = token.trim();
  return settings;
}

async function implicitToken(env: Env): Promise<string | undefined> {
  const fromEnv = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), ".cache"), "huggingface");
  const file = env.HF_TOKEN_PATH ?? join(home, "token");
  try {
    const text = (await readFile(file, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}
