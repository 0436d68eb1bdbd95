// The scan engine's integrity features: files[].sha256 (pool and tee paths), lock files and pins,
// and OMS signatures discovered in a scanned directory.
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { HashPool } from "../../src/integrity/hash/pool.js";
import { startScanHash } from "../../src/integrity/hash/scan-hash.js";
import { checkManifest } from "../../src/integrity/oms/manifest.js";
import { parseStatement } from "../../src/integrity/oms/statement.js";
import { readLockFile, writeLockFile } from "../../src/integrity/pins/lock.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { BufferSource } from "../../src/sources/byte-source.js";
import { FileSource } from "../../src/sources/file.js";
import { reportValidator } from "../helpers/schema.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const text = (p: string) => readFileSync(join(S, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-iscan-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function copy(name: string): string {
  const dir = join(tmp, `d${n++}`);
  cpSync(join(S, name), dir, { recursive: true });
  return dir;
}
const validate = reportValidator();
const rules = (r: ScanReport) => r.files.flatMap((f) => f.findings.map((x) => `${f.path} ${x.ruleId}`)).sort();
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("files[].sha256", () => {
  it("hashes large local files on the pool and small ones from the analyzers' reads", async () => {
    const dir = join(tmp, "hash");
    cpSync(join(S, "model"), dir, { recursive: true });
    const big = Buffer.alloc(5 * 1024 * 1024 + 17, 7);
    writeFileSync(join(dir, "big.bin"), big);
    const report = await scan(dir);
    expect(validate(report).valid).toBe(true);
    for (const f of report.files) expect(f.sha256, f.path).toBe(sha(readFileSync(join(dir, f.path))));
    const source = await FileSource.open(join(dir, "big.bin"));
    try {
      const h = startScanHash(source, { signal: new AbortController().signal });
      expect(h.mode).toBe("pool");
      expect(await h.finish()).toBe(sha(big));
    } finally {
      await source.close();
    }
  });

  it("feeds the bytes the analyzers read into the hash and reads only the rest", async () => {
    const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    let read = 0;
    const counting = {
      size: bytes.length,
      read: async (offset: number, length: number) => {
        const out = bytes.subarray(offset, offset + length);
        read += out.length;
        return out;
      },
    };
    const h = startScanHash(counting, { signal: new AbortController().signal });
    expect(h.mode).toBe("tee");
    await h.source.read(0, 4000); // the sniffer's head
    await h.source.read(8000, 100); // out of order: passed through, not hashed yet
    await h.source.read(4000, 2000);
    expect(await h.finish()).toBe(sha(bytes));
    expect(read).toBe(4000 + 100 + 2000 + 4000); // only [6000, 10000) read again
    const mem = startScanHash(new BufferSource(bytes), { signal: new AbortController().signal });
    expect(await mem.finish()).toBe(sha(bytes));
  });
});

describe("lock files and pins", () => {
  it("locks a directory and checks it in a scan", async () => {
    const dir = copy("model");
    symlinkSync("weights.bin", join(dir, "alias.bin"));
    const { path, lock } = await writeLockFile(dir);
    expect(path).toBe(join(dir, "modelgate.lock.json"));
    expect(Object.keys(lock.files)).toEqual([
      ".gitattributes",
      "alias.bin",
      "config.json",
      "sub/__init__.py",
      "sub/tokenizer.json",
      "weights.bin",
    ]);
    expect(lock.files["alias.bin"]).toEqual({ symlink: "weights.bin" });
    expect(await readLockFile(path)).toEqual(lock);
    const clean = await scan(dir, { lockFile: path });
    expect(rules(clean).filter((r) => r.includes("integrity/"))).toEqual([]);

    writeFileSync(join(dir, "config.json"), "{}");
    rmSync(join(dir, "sub/tokenizer.json"));
    writeFileSync(join(dir, "sub/modeling.py"), "import os");
    rmSync(join(dir, "alias.bin"));
    symlinkSync("/etc/passwd", join(dir, "alias.bin"));
    const bad = await scan(dir, { lockFile: path });
    expect(validate(bad).valid).toBe(true);
    expect(bad.verdict).toBe("malicious");
    expect(rules(bad).filter((r) => r.includes("integrity/"))).toEqual([
      "alias.bin integrity/pin-mismatch",
      "config.json integrity/pin-mismatch",
      "modelgate.lock.json integrity/pin-missing",
      "sub/modeling.py integrity/pin-unexpected",
    ]);
    const missing = bad.files.flatMap((f) => f.findings).find((x) => x.ruleId === "integrity/pin-missing");
    expect(missing?.evidence?.missing).toBe("sub/tokenizer.json");
    const lenient = await scan(dir, { lockFile: path, allowUnpinned: true });
    expect(rules(lenient).some((r) => r.includes("pin-unexpected"))).toBe(false);
  });

  it("checks a { path: sha256 } map, even when the scan does not hash", async () => {
    const dir = copy("model");
    const pins = { "weights.bin": sha(readFileSync(join(dir, "weights.bin"))), "config.json": "0".repeat(64) };
    for (const hash of [true, false]) {
      const r = await scan(dir, { pins, allowUnpinned: true, hash });
      expect(rules(r).filter((x) => x.includes("integrity/"))).toEqual(["config.json integrity/pin-mismatch"]);
    }
    await expect(scan(dir, { pins: { "../x": "0".repeat(64) } })).resolves.toMatchObject({ complete: false });
  });

  it("fails (never clean) when an empty tree misses pinned files", async () => {
    const dir = mkdtempSync(join(tmp, "empty-"));
    const r = await scan(dir, { pins: { "a.bin": "0".repeat(64) } });
    expect(r.complete).toBe(false);
    expect(r.verdict).toBe("invalid");
  });
});

describe("OMS signatures in a scan", () => {
  it("discovers model.sig by content and verifies it with the key", async () => {
    const r = await scan(join(S, "signed-model"), { signature: { publicKey: text("keys/p256.pub.pem") } });
    expect(validate(r).valid).toBe(true);
    expect(r.signature).toMatchObject({ status: "verified", method: "key", signaturePath: "model.sig" });
    expect(rules(r)).toContain("model.sig integrity/signature-verified");
    // verified, and nothing above info but the sample's headerless weights.bin (format/unknown)
    expect(r.verdict).toBe("suspicious");
    expect(
      r.files.flatMap((f) => f.findings.filter((x) => x.severity !== "info").map((x) => `${f.path} ${x.ruleId}`)),
    ).toEqual(["weights.bin format/unknown"]);
  });

  it("finds a signature under any name, and reports a wrong key as high", async () => {
    const dir = copy("signed-model");
    cpSync(join(dir, "model.sig"), join(dir, "bundle.json"));
    rmSync(join(dir, "model.sig"));
    const r = await scan(dir, { signature: { publicKey: text("keys/other-p256.pub.pem") } });
    expect(r.signature).toMatchObject({ status: "failed", failedStage: "signature", signaturePath: "bundle.json" });
    expect(rules(r)).toContain("bundle.json integrity/signature-invalid");
    expect(r.verdict).toBe("malicious");
  });

  it("verifies a keyless signature with a test trust root", async () => {
    const dir = copy("model");
    cpSync(join(S, "keyless/model.sig"), join(dir, "model.sig"));
    const id = JSON.parse(text("keyless/identity.json"));
    const trustedRoot = JSON.parse(text("keyless/trusted_root.json"));
    const r = await scan(dir, { signature: { trustedRoot, ...id } });
    expect(r.signature).toMatchObject({ status: "verified", method: "sigstore", signer: { identity: id.identity } });
  });

  it("can require a signature, or skip signatures", async () => {
    const unsigned = await scan(join(S, "model"), { signature: { require: true } });
    expect(unsigned.signature?.status).toBe("unsigned");
    expect(rules(unsigned).some((r) => r.endsWith("integrity/signature-missing"))).toBe(true);
    const skipped = await scan(join(S, "signed-model"), { signature: false });
    expect(skipped.signature).toBeUndefined();
  });

  it("reuses the scan's SHA-256 instead of hashing again", async () => {
    const payload = JSON.parse(text("signed-model/model.sig")).dsseEnvelope.payload;
    const manifest = parseStatement("application/vnd.in-toto+json", Buffer.from(payload, "base64"));
    const dir = join(S, "signed-model");
    const size = readFileSync(join(dir, "weights.bin")).length;
    // A wrong "known" digest shows up as a mismatch: the file was not hashed again.
    const known = new Map([["weights.bin", { sha256: "f".repeat(64), size }]]);
    const pool = new HashPool({ workers: 0 });
    await expect(
      checkManifest(dir, manifest, { knownSha256: known, pool, signaturePaths: [join(dir, "model.sig")] }),
    ).rejects.toMatchObject({ stage: "manifest" });
    // A stale size is not trusted.
    const stale = new Map([["weights.bin", { sha256: "f".repeat(64), size: size + 1 }]]);
    const files = await checkManifest(dir, manifest, {
      knownSha256: stale,
      pool,
      signaturePaths: [join(dir, "model.sig")],
    });
    expect(files.every((f) => f.status === "ok")).toBe(true);
  });

  it("skips files above the signature size budget when discovering", async () => {
    const dir = copy("signed-model");
    const big = join(dir, "huge.json");
    writeFileSync(big, "{");
    truncateSync(big, 65 * 1024 * 1024); // above the signature size budget: never read as a candidate
    const r = await scan(dir, { signature: { publicKey: text("keys/p256.pub.pem"), ignorePaths: ["huge.json"] } });
    expect(r.signature?.status).toBe("verified");
  });
});

describe("signatures of sub-models", () => {
  it("verify their own directory and leave the rest of the tree alone", async () => {
    const r = await scan(S, { signature: { publicKey: text("keys/p256.pub.pem") } });
    const byPath = new Map(r.files.map((f) => [f.path, f.findings.map((x) => x.ruleId)]));
    expect(byPath.get("signed-model/model.sig")).toContain("integrity/signature-verified");
    expect(byPath.get("tampered-model/weights.bin")).toContain("integrity/signed-file-mismatch");
    expect(byPath.get("extra-file-model/sub/modeling_evil.py")).toContain("integrity/unsigned-file");
    // files of unsigned folders are not claimed by any signature
    expect(byPath.get("model/weights.bin")?.some((id) => id.startsWith("integrity/"))).toBe(false);
    expect(r.signature?.model).toBe("signed-model");
    expect(r.signature?.status).toBe("verified");
  });
});

describe("digests computed by signature verification", () => {
  const blake2b = (b: Uint8Array) => createHash("blake2b512").update(b).digest("hex");

  it("a BLAKE2b signature fills files[].hashes.blake2b for every signed file, verified or not", async () => {
    const dir = join(S, "blake2b-model");
    const signed = ["config.json", "sub/__init__.py", "sub/tokenizer.json", "weights.bin"];
    for (const signature of [{ publicKey: text("keys/p384.pub.pem") }, {}]) {
      const r = await scan(dir, { signature });
      expect(validate(r).valid).toBe(true);
      expect(r.signature).toMatchObject({ serialization: { method: "files", hashType: "blake2b" } });
      expect(r.signature?.status).toBe(signature.publicKey === undefined ? "unverified" : "verified");
      for (const f of r.files) {
        const expected = signed.includes(f.path) ? { blake2b: blake2b(readFileSync(join(dir, f.path))) } : undefined;
        expect(f.hashes, f.path).toEqual(expected);
        expect(f.sha256, f.path).toBe(sha(readFileSync(join(dir, f.path))));
      }
    }
  });

  it("a tampered file gets the digest of its bytes, not the signed one", async () => {
    const dir = copy("blake2b-model");
    writeFileSync(join(dir, "config.json"), '{"architectures":["Other"]}\n');
    const r = await scan(dir, { signature: { publicKey: text("keys/p384.pub.pem") } });
    expect(rules(r)).toContain("config.json integrity/signed-file-mismatch");
    const config = r.files.find((f) => f.path === "config.json");
    expect(config?.hashes?.blake2b).toBe(blake2b(readFileSync(join(dir, "config.json"))));
  });

  it("SHA-256 signatures add nothing the scan has; shard digests are not file digests", async () => {
    const sha256Signed = await scan(join(S, "signed-model"));
    expect(sha256Signed.files.every((f) => f.hashes === undefined)).toBe(true);
    // Without the scan's own hashing, the verification's SHA-256 is reported.
    const unhashed = await scan(join(S, "signed-model"), { hash: false });
    const weights = unhashed.files.find((f) => f.path === "weights.bin");
    expect(weights?.sha256).toBeUndefined();
    expect(weights?.hashes).toEqual({ sha256: sha(readFileSync(join(S, "signed-model", "weights.bin"))) });
    const dir = copy("model");
    cpSync(join(S, "signatures", "key-p256-blake3-shards.sig"), join(dir, "model.sig"));
    const shards = await scan(dir, { signature: { publicKey: text("keys/p256.pub.pem") } });
    expect(shards.signature).toMatchObject({
      status: "verified",
      serialization: { method: "shards", hashType: "blake3" },
    });
    expect(shards.files.every((f) => f.hashes === undefined)).toBe(true);
  });
});
