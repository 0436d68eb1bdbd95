import { describe, expect, it } from "vitest";
import { findCredentials } from "../../../src/formats/secrets/scan.js";
import { scanBytes, scanOne } from "../../helpers/scan.js";
import { GgufBuilder, T } from "../gguf/build.js";

// Tokens are assembled at run time from pieces so that no credential-shaped string is committed.
const repeat = (alphabet: string, n: number): string =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7) % alphabet.length]).join("");
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const TOKENS: Record<string, string> = {
  "aws-access-key-id": `AKIA${repeat(UPPER, 16)}`,
  "huggingface-token": `hf_${repeat(ALNUM, 34)}`,
  "github-token": `ghp_${repeat(ALNUM, 36)}`,
  "openai-key": `sk-proj-${repeat(ALNUM, 48)}`,
  "anthropic-key": `sk-ant-api03-${repeat(ALNUM, 90)}`,
  "google-api-key": `AIza${repeat(ALNUM, 35)}`,
  "slack-token": `xoxb-${repeat("0123456789", 12)}-${repeat(ALNUM, 24)}`,
  "stripe-key": `sk_live_${repeat(ALNUM, 24)}`,
};

describe("findCredentials", () => {
  it("finds each kind, on the right line, and never returns the secret", () => {
    for (const [kind, token] of Object.entries(TOKENS)) {
      const text = `# settings\nkey = "${token}"\n`;
      const hits = findCredentials(text);
      expect(
        hits.map((h) => h.kind),
        kind,
      ).toEqual([kind]);
      expect(hits[0]?.line).toBe(2);
      expect(hits[0]?.preview).not.toContain(token);
      expect(hits[0]?.preview).toContain(`(${token.length} characters)`);
    }
  });

  it("finds PEM private keys and AWS secret keys next to their name", () => {
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";
    expect(findCredentials(pem).map((h) => h.kind)).toEqual(["private-key"]);
    const aws = `aws_secret_access_key = ${repeat(ALNUM, 40)}`;
    const hit = findCredentials(aws)[0];
    expect(hit?.kind).toBe("aws-secret-access-key");
    expect(hit?.preview).not.toContain(repeat(ALNUM, 40));
  });

  it("ignores ordinary model text: digests, base64, prose, short prefixes", () => {
    const text = [
      `"sha256": "${"ab12".repeat(16)}"`,
      `weights: ${Buffer.from(repeat(ALNUM, 120)).toString("base64")}`,
      "the tokenizer uses hf_ prefixes and sk- style names; AKIA is an acronym",
      "-----BEGIN PUBLIC KEY-----",
      `model_id: "hf_internal_testing/tiny-random-${repeat("abc", 5)}"`,
    ].join("\n");
    expect(findCredentials(text)).toEqual([]);
  });

  it("is bounded on hostile input (many matches, long lines)", () => {
    const many = Array.from({ length: 5000 }, () => TOKENS["github-token"]).join(" ");
    const hits = findCredentials(many);
    expect(hits.length).toBeLessThanOrEqual(100);
    const long = "hf_".repeat(200_000);
    expect(findCredentials(long)).toEqual([]);
  });
});

describe("secrets analyzer", () => {
  it("reports a token in a config as suspicious, without copying it into the report", async () => {
    const token = TOKENS["huggingface-token"] ?? "";
    const config = Buffer.from(JSON.stringify({ model_type: "bert", hub_token: token }, null, 2));
    const report = await scanBytes(config, "config.json");
    const file = report.files[0];
    expect(file?.verdict).toBe("suspicious");
    expect(file?.findings.map((f) => f.ruleId)).toContain("secrets/credential");
    expect(JSON.stringify(report)).not.toContain(token);
  });

  it("reports keys in scripts and model cards, and caps repeats", async () => {
    const token = TOKENS["aws-access-key-id"] ?? "";
    const script = Buffer.from(`import os\n${Array.from({ length: 40 }, () => `KEY = "${token}"`).join("\n")}\n`);
    const file = await scanOne(script, "upload.py");
    const secrets = file.findings.filter((f) => f.ruleId === "secrets/credential");
    expect(secrets.length).toBe(21); // 20 kept + one summary of the rest
    expect(secrets.at(-1)?.message).toMatch(/20 more occurrences/);
    const card = await scanOne(Buffer.from(`---\nlicense: mit\n---\n# Model\nUse ${token}\n`), "README.md");
    expect(card.findings.map((f) => f.ruleId)).toContain("secrets/credential");
  });

  it("leaves clean text clean", async () => {
    const file = await scanOne(Buffer.from('{"architectures": ["BertModel"], "vocab_size": 30522}'), "config.json");
    expect(file.findings.filter((f) => f.ruleId === "secrets/credential")).toEqual([]);
  });
});

describe("credentials in model metadata", () => {
  it("are found in safetensors __metadata__ values", async () => {
    const token = TOKENS["github-token"] ?? "";
    const header = Buffer.from(
      JSON.stringify({
        __metadata__: { note: `uploaded with ${token}` },
        w: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      }),
    );
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(header.length));
    const file = await scanOne(Buffer.concat([size, header, Buffer.alloc(4)]), "model.safetensors");
    const hit = file.findings.find((f) => f.ruleId === "secrets/credential");
    expect(hit?.message).toContain('__metadata__["note"]');
    expect(JSON.stringify(file)).not.toContain(token);
  });

  it("are found in GGUF string metadata", async () => {
    const token = TOKENS["openai-key"] ?? "";
    const bytes = new GgufBuilder()
      .kv("general.architecture", T.str, "llama")
      .kv("general.description", T.str, `key ${token}`)
      .tensor("w", [4], 0)
      .build();
    const file = await scanOne(bytes, "model.gguf");
    expect(file.findings.find((f) => f.ruleId === "secrets/credential")?.message).toContain("general.description");
    expect(JSON.stringify(file)).not.toContain(token);
  });
});
