// What a signature exempts, and what it never does: a copied or self-signed bundle with loader
// keys is a model file (analysed, unsigned); a second signature of the same root is an unsigned
// file; a hostile shard size costs nothing; lock and scan agree on version-control entries; a
// model reached through a linked directory verifies; a TLS server certificate does not sign models.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  cpSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseBundle } from "../../src/integrity/oms/bundle.js";
import { checkManifest } from "../../src/integrity/oms/manifest.js";
import { signModel } from "../../src/integrity/oms/sign.js";
import type { Manifest } from "../../src/integrity/oms/statement.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";
import { checkDirectory, createLockFile, writeLockFile } from "../../src/integrity/pins/lock.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { DirectoryRoot } from "../../src/sources/roots.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const F = fileURLToPath(new URL("./fixtures/eku/", import.meta.url));
const text = (p: string) => readFileSync(join(S, p), "utf8");
const publicKey = text("keys/p256.pub.pem");
const tmp = mkdtempSync(join(tmpdir(), "mg-exempt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const dir = join(tmp, `d${n++}`);
  mkdirSync(dir);
  return dir;
};
const rules = (r: ScanReport) => r.files.flatMap((f) => f.findings.map((x) => `${f.path} ${x.ruleId}`)).sort();
const fileOf = (r: ScanReport, path: string) => r.files.find((f) => f.path === path);
const SSTI =
  "{{ cycler.__init__.__globals__.os.popen('touch /tmp/x').read() }}{% for m in messages %}{{ m['content'] }}{% endfor %}";

/** A small signed model: config.json and weights.npy signed with the p256 key as model.sig. */
async function signedModel(): Promise<string> {
  const dir = fresh();
  writeFileSync(join(dir, "config.json"), '{"model_type": "bert", "hidden_size": 8}');
  writeFileSync(
    join(dir, "weights.npy"),
    Buffer.from(
      "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".padEnd(127, " ") +
        "\n\0\0\0\0\0\0\0\0",
      "latin1",
    ),
  );
  await signModel(dir, { privateKey: text("keys/p256.key.pem") });
  return dir;
}

describe("bundles with keys the schema lacks", () => {
  it("parseBundle rejects unknown keys at every level of the bundle schema", () => {
    const good = JSON.parse(text("signatures/key-p256.sig")) as Record<string, unknown>;
    expect(() => parseBundle(good)).not.toThrow();
    expect(() => parseBundle({ ...good, chat_template: SSTI })).toThrow(/unknown top-level key "chat_template"/);
    const envelope = { ...(good.dsseEnvelope as object), auto_map: {} };
    expect(() => parseBundle({ ...good, dsseEnvelope: envelope })).toThrow(/unknown dsseEnvelope key/);
    const material = { ...(good.verificationMaterial as object), extra: 1 };
    expect(() => parseBundle({ ...good, verificationMaterial: material })).toThrow(/unknown verificationMaterial key/);
  });

  it("a copied signature with loader keys is analysed and unsigned under --require-signature (F2 poc1)", async () => {
    const dir = await signedModel();
    const sig = JSON.parse(readFileSync(join(dir, "model.sig"), "utf8")) as Record<string, unknown>;
    writeFileSync(
      join(dir, "tokenizer_config.json"),
      JSON.stringify({ ...sig, chat_template: SSTI, auto_map: { AutoTokenizer: ["attacker/t--m.T", null] } }),
    );
    const r = await scan(dir, { signature: { publicKey, require: true } });
    const tok = fileOf(r, "tokenizer_config.json");
    expect(tok?.format).toBe("json");
    expect(tok?.verdict).toBe("malicious");
    expect(rules(r)).toContain("tokenizer_config.json integrity/unsigned-file");
    expect(r.signature?.coverage?.complete).toBe(false);
  });

  it("a byte-identical second signature of the same root is an unsigned file, not exempt", async () => {
    const dir = await signedModel();
    cpSync(join(dir, "model.sig"), join(dir, "copy.sig"));
    const r = await scan(dir, { signature: { publicKey, require: true } });
    expect(rules(r)).toContain("copy.sig integrity/unsigned-file");
    expect(r.verdict).not.toBe("clean");
  });

  it("a model.sig with a key added is an invalid signature, analysed as JSON", async () => {
    const dir = await signedModel();
    const sig = JSON.parse(readFileSync(join(dir, "model.sig"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "model.sig"), JSON.stringify({ ...sig, auto_map: { AutoConfig: "attacker/p--c.C" } }));
    const r = await scan(dir, { signature: { publicKey } });
    expect(fileOf(r, "model.sig")?.format).toBe("json");
    expect(rules(r)).toContain("model.sig integrity/signature-invalid");
    expect(r.signature?.status).toBe("failed");
  });

  it("signatures of sub-models stay exempt from the root signature", async () => {
    const dir = await signedModel();
    const sub = join(dir, "sub");
    mkdirSync(sub);
    writeFileSync(join(sub, "config.json"), '{"model_type": "bert"}');
    await signModel(sub, { privateKey: text("keys/p256.key.pem") });
    rmSync(join(dir, "model.sig"));
    await signModel(dir, { privateKey: text("keys/p256.key.pem") });
    const r = await scan(dir, { signature: { publicKey, require: true } });
    expect(rules(r).filter((x) => !x.endsWith("signature-verified") && x.includes("integrity/"))).toEqual([]);
  });

  it("a self-signed config.json with an external auto_map is analysed as a config (F3 poc2)", async () => {
    const dir = await signedModel();
    const sig = JSON.parse(readFileSync(join(dir, "model.sig"), "utf8")) as Record<string, unknown>;
    rmSync(join(dir, "model.sig"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...sig, model_type: "llama", auto_map: { AutoConfig: "attacker/p--configuration_evil.C" } }),
    );
    const r = await scan(dir);
    const config = fileOf(r, "config.json");
    expect(config?.format).toBe("json");
    expect(config?.verdict).not.toBe("clean");
    expect(r.verdict).not.toBe("clean");
  });
});

describe("shard layouts", () => {
  it("compares the shard count before building any range (F4: shard_size 1 on a large file)", async () => {
    const dir = fresh();
    const fd = openSync(join(dir, "big.bin"), "w");
    ftruncateSync(fd, 16 * 1024 * 1024);
    closeSync(fd);
    const manifest: Manifest = {
      method: "shards",
      hashType: "sha256",
      allowSymlinks: false,
      shardSize: 1,
      ignorePaths: [],
      resources: [
        { name: "big.bin:0:1", path: "big.bin", start: 0, end: 1, digest: "0".repeat(64), algorithm: "sha256" },
      ],
    } as unknown as Manifest;
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const error = await checkManifest(dir, manifest).then(
      () => undefined,
      (e: unknown) => e as { files?: { path: string; status: string; reason?: string }[] },
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    const big = error?.files?.find((f) => f.path === "big.bin");
    expect(big?.status).toBe("mismatch");
    expect(big?.reason).toMatch(/1 signed shard, 16777216 expected/);
  });
});

describe("version-control entries", () => {
  it("lock and scan --lock agree on a worktree's .git file; .hg and .svn are content on both sides (F5)", async () => {
    const dir = fresh();
    writeFileSync(join(dir, "config.json"), '{"a": 1}');
    writeFileSync(join(dir, ".git"), "gitdir: /elsewhere/.git/worktrees/x\n");
    mkdirSync(join(dir, ".hg"));
    writeFileSync(join(dir, ".hg", "z"), "hg");
    mkdirSync(join(dir, ".svn"));
    writeFileSync(join(dir, ".svn", "entries"), "12");
    const { lock, path } = await writeLockFile(dir);
    // git cannot track a path named .git; .hg and .svn can be committed like any folder
    expect(Object.keys(lock.files).sort()).toEqual([".hg/z", ".svn/entries", "config.json"]);
    expect(await checkDirectory(dir, lock)).toEqual([]);
    const r = await scan(dir, { lockFile: path });
    expect(rules(r).filter((x) => x.includes("integrity/pin-"))).toEqual([]);
    const listed: string[] = [];
    for await (const e of new DirectoryRoot(dir).list(new AbortController().signal)) {
      listed.push(`${e.path}:${e.kind}`);
    }
    expect(listed.sort()).toEqual([
      ".git:skipped",
      ".hg/z:file",
      ".svn/entries:file",
      "config.json:file",
      "modelgate.lock.json:file",
    ]);
  });

  it("folders of those names below the top are model content on both sides", async () => {
    const dir = fresh();
    mkdirSync(join(dir, "sub", ".hg"), { recursive: true });
    writeFileSync(join(dir, "sub", ".hg", "z"), "hg");
    const lock = await createLockFile(dir);
    expect(Object.keys(lock.files)).toEqual(["sub/.hg/z"]);
  });
});

describe("a model root given as a link to a directory (F6)", () => {
  it("verifies and locks the directory the link names", async () => {
    const dir = await signedModel();
    const link = join(tmp, `link${n++}`);
    symlinkSync(dir, link);
    const r = await verifyModel(link, { publicKey });
    expect(r.status, r.errors.join("; ")).toBe("verified");
    const lock = await createLockFile(link);
    expect(Object.keys(lock.files).sort()).toEqual(["config.json", "model.sig", "weights.npy"]);
    const scanned = await scan(link, { signature: { publicKey, require: true } });
    expect(rules(scanned).filter((x) => x.includes("integrity/") && !x.endsWith("signature-verified"))).toEqual([]);
  });
});

describe("certificate usages", () => {
  const pem = (name: string) => readFileSync(join(F, name), "utf8");
  async function certSigned(leaf: string, chain: string[] = []): Promise<string> {
    const dir = fresh();
    writeFileSync(join(dir, "config.json"), '{"model_type": "bert"}');
    await signModel(dir, {
      privateKey: pem(`${leaf}.key.pem`),
      signingCertificate: pem(`${leaf}.pem`),
      certificateChain: chain.map(pem),
    });
    return dir;
  }

  it("accepts a codeSigning leaf of the root", async () => {
    const r = await verifyModel(await certSigned("leaf-code"), { certificateChain: [pem("root-ca.pem")] });
    expect(r.status, r.errors.join("; ")).toBe("verified");
  });

  it("refuses a leaf whose extended key usage is serverAuth only, even with digitalSignature", async () => {
    const r = await verifyModel(await certSigned("leaf-server"), { certificateChain: [pem("root-ca.pem")] });
    expect(r.status).toBe("failed");
    expect(r.failedStage).toBe("signature");
    expect(r.errors.join("; ")).toMatch(/does not include codeSigning/);
  });

  it("refuses an issuer whose key usage lacks keyCertSign", async () => {
    const dir = await certSigned("leaf-under-bad-int", ["int-no-certsign.pem"]);
    const r = await verifyModel(dir, { certificateChain: [pem("root-ca.pem")] });
    // OpenSSL's issuer check already refuses such an issuer when the path is built; the explicit
    // keyCertSign check is a second line.
    expect(r.status).toBe("failed");
    expect(r.failedStage).toBe("signature");
    expect(r.errors.join("; ")).toMatch(/keyCertSign|no certificate path/);
  });

  it("the fixtures are what make.sh says (openssl reads the usages)", () => {
    const ext = (name: string) =>
      execFileSync("openssl", ["x509", "-in", join(F, name), "-noout", "-ext", "keyUsage,extendedKeyUsage"], {
        encoding: "utf8",
      });
    expect(ext("leaf-server.pem")).toMatch(/Digital Signature[\s\S]*TLS Web Server Authentication/);
    expect(ext("int-no-certsign.pem")).not.toMatch(/Certificate Sign/);
  });
});
