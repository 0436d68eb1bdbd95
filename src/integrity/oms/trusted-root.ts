/**
 * Sigstore trust roots for the keyless method: the caller's TrustedRoot (or ClientTrustConfig),
 * else the shipped snapshot of the public-good root. Refreshing over TUF is an explicit call;
 * nothing here touches the network unless {@link refreshTrustedRoot} is called.
 * @module
 */
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { ModelgateError } from "../../core/errors.js";
import { describeJsonError, readNamedFile } from "../../sources/safe-write.js";

/** Provenance of the shipped public-good trusted root snapshot. */
export const PUBLIC_GOOD_TRUSTED_ROOT_INFO = Object.freeze({
  /** Where it was copied from. */
  source: "trusted_root.json target embedded in @sigstore/tuf 5.0.1 seeds.json (public-good TUF repository, root v15)",
  /** When it was copied. */
  snapshotDate: "2026-11-22",
  /** Newest key in it: the Rekor log2025-1 shard, valid from this date. */
  newestKeyValidFrom: "2025-09-23",
});

/** Media type prefix of TrustedRoot documents. */
const TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Turns TrustedRoot JSON (or a ClientTrustConfig holding one, as `model_signing --trust-config`
 * takes) into a TrustedRoot.
 * @param json - the parsed JSON
 * @throws ModelgateError `INVALID_ARGUMENT` when it is neither
 */
export function trustedRootFromJSON(json: unknown): TrustedRoot {
  let root: unknown = json;
  if (isObject(json) && isObject(json.trustedRoot)) root = json.trustedRoot;
  if (!isObject(root) || typeof root.mediaType !== "string" || !root.mediaType.startsWith(TRUSTED_ROOT_MEDIA_TYPE)) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      "not a Sigstore TrustedRoot (mediaType application/vnd.dev.sigstore.trustedroot+json) or a ClientTrustConfig",
    );
  }
  try {
    return TrustedRoot.fromJSON(root);
  } catch (error) {
    throw new ModelgateError("INVALID_ARGUMENT", `invalid TrustedRoot: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Reads a TrustedRoot or ClientTrustConfig JSON file.
 * @param path - the file
 */
export async function readTrustedRoot(path: string): Promise<TrustedRoot> {
  const text = await readNamedFile(path, "trusted root");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `${path} is not JSON (${describeJsonError(error, Buffer.byteLength(text))})`,
    );
  }
  return trustedRootFromJSON(json);
}

let shipped: TrustedRoot | undefined;

/** The shipped snapshot of the public-good Sigstore trusted root (see {@link PUBLIC_GOOD_TRUSTED_ROOT_INFO}). */
export async function publicGoodTrustedRoot(): Promise<TrustedRoot> {
  if (shipped === undefined) {
    const module = (await import("./data/public-good-trusted-root.json", { with: { type: "json" } })) as {
      default: unknown;
    };
    shipped = trustedRootFromJSON(module.default);
  }
  return shipped;
}

/** Options of {@link refreshTrustedRoot}. */
export interface RefreshTrustedRootOptions {
  /** TUF mirror (default the public-good one). */
  mirrorURL?: string;
  /** Initial TUF root.json for a private mirror. */
  rootPath?: string;
  /** Cache directory (default `@sigstore/tuf`'s). */
  cachePath?: string;
  /** Network timeout in milliseconds (default 10 s). */
  timeout?: number;
}

/**
 * Fetches the current trusted root over TUF (network). Only called on explicit request
 * (`modelgate verify --refresh-trusted-root`); verification never does it implicitly.
 * @param options - mirror, initial root, cache, timeout
 * @returns the TrustedRoot JSON (write it somewhere and pass it as the trusted root)
 * @throws ModelgateError `NETWORK` when the refresh fails
 */
export async function refreshTrustedRoot(options: RefreshTrustedRootOptions = {}): Promise<Record<string, unknown>> {
  const { getTrustedRoot } = await import("@sigstore/tuf");
  try {
    const root = await getTrustedRoot({
      ...(options.mirrorURL === undefined ? {} : { mirrorURL: options.mirrorURL }),
      ...(options.rootPath === undefined ? {} : { rootPath: options.rootPath }),
      ...(options.cachePath === undefined ? {} : { cachePath: options.cachePath }),
      timeout: options.timeout ?? 10_000,
      retry: false,
    });
    return TrustedRoot.toJSON(root) as Record<string, unknown>;
  } catch (error) {
    throw new ModelgateError(
      "NETWORK",
      `TUF refresh of the Sigstore trusted root failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** An empty TrustedRoot: trusts nothing (useful to prove a keyless signature is not accepted by default). */
export function emptyTrustedRoot(): TrustedRoot {
  return trustedRootFromJSON({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}
