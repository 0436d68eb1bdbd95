/**
 * `modelgate sign <model>`: writes an OpenSSF Model Signing signature (key or certificate method).
 * @module
 */
import { parseArgs } from "../../core/node-util.js";
import type { HashAlgorithm } from "../../integrity/hash/core.js";
import { type SignOptions, signModel } from "../../integrity/oms/sign.js";
import { readNamedFile } from "../../sources/safe-write.js";
import { type Command, EXIT, UsageError } from "../io.js";
import { type ArgToken, splitVariadic } from "../variadic.js";

const USAGE = `Usage: modelgate sign <model> --private-key PEM [options]

Signs a model directory (or single file) in the OpenSSF Model Signing v1.0 format. The signature
is written atomically; an output that is a symbolic link, FIFO, device or directory is refused.

Options:
  --private-key PEM            EC private key (P-256, P-384 or P-521)
  --signing-certificate PEM    certificate of that key: sign with the certificate method
  --certificate-chain PEM...   intermediate certificates to include (several, or repeated)
  --output FILE                signature file (default <model>/model.sig)
  --ignore-paths PATH...       paths (relative to the model) to leave out (several, or repeated)
  --hash sha256|blake2b|blake3 digest algorithm (default sha256)
  --shard-size N               sign shards of N bytes instead of whole files
  --allow-symlinks             follow symbolic links to files inside the model (default: refuse
                               them; a link leaving the model is always refused)
  -h, --help                   show this help

Exit codes: 0 signed; 2 error or usage error.`;

const HASHES = ["sha256", "blake2b", "blake3"] as const;

/** `modelgate sign`. */
export const signCommand: Command = {
  summary: "sign a model with OpenSSF Model Signing (key or certificate)",
  usage: USAGE,
  async run(args, io) {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        "private-key": { type: "string" },
        "signing-certificate": { type: "string" },
        "certificate-chain": { type: "string", multiple: true },
        output: { type: "string" },
        "ignore-paths": { type: "string", multiple: true },
        hash: { type: "string", default: "sha256" },
        "shard-size": { type: "string" },
        "allow-symlinks": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    const { extra, positionals } = splitVariadic(parsed.tokens as ArgToken[], ["certificate-chain", "ignore-paths"], 1);
    const values = {
      ...parsed.values,
      "certificate-chain": [...(parsed.values["certificate-chain"] ?? []), ...(extra["certificate-chain"] ?? [])],
      "ignore-paths": [...(parsed.values["ignore-paths"] ?? []), ...(extra["ignore-paths"] ?? [])],
    };
    if (values.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (positionals.length !== 1) throw new UsageError("sign needs exactly one model path");
    if (values["private-key"] === undefined) throw new UsageError("--private-key is required");
    const hash = values.hash as HashAlgorithm;
    if (!HASHES.includes(hash)) throw new UsageError(`--hash must be one of ${HASHES.join(", ")}`);
    const chain = values["certificate-chain"] ?? [];
    if (chain.length > 0 && values["signing-certificate"] === undefined) {
      throw new UsageError("--certificate-chain needs --signing-certificate");
    }
    const read = (path: string, what = "certificate") => readNamedFile(path, what);
    const options: SignOptions = {
      privateKey: await read(values["private-key"], "private key"),
      hash,
      allowSymlinks: values["allow-symlinks"],
      signal: io.signal,
    };
    if (values["signing-certificate"] !== undefined) {
      options.signingCertificate = await read(values["signing-certificate"], "signing certificate");
      options.certificateChain = await Promise.all(chain.map((path) => read(path)));
    }
    if (values.output !== undefined) options.output = values.output;
    if (values["ignore-paths"] !== undefined) options.ignorePaths = values["ignore-paths"];
    if (values["shard-size"] !== undefined) {
      const n = Number(values["shard-size"]);
      if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError("--shard-size must be a positive integer");
      options.shardSize = n;
    }
    const result = await signModel(positionals[0] as string, options);
    io.stdout(
      `Signed ${result.resources} ${options.shardSize === undefined ? "files" : "shards"} (${result.method} method, root sha256:${result.rootDigest})\nWrote ${result.path}\n`,
    );
    return EXIT.ok;
  },
};
