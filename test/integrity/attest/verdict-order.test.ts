// Attestation verdicts are ranked in one place (src/integrity/attest/verdict.ts, by the report's
// VERDICTS order): the statement built, the statement parsed and the verifier's `maxVerdict` agree,
// and `--max-verdict` is checked by the same function as the API's `maxVerdict`, with the CLI's
// usage text and exit code unchanged.
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run.js";
import { isModelgateError } from "../../../src/core/errors.js";
import { VERDICTS } from "../../../src/core/severity.js";
import { isPassThreshold, isVerdict, verdictOption, verdictWithin } from "../../../src/integrity/attest/verdict.js";
import { verifyAttestation } from "../../../src/integrity/attest/verify.js";
import { verdictRank } from "../../../src/report/verdict.js";
import { fakeIO } from "../../helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "mg-attest-vo-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("one verdict order", () => {
  it("verdictWithin ranks as the report does", () => {
    for (const a of VERDICTS)
      for (const b of VERDICTS) expect(verdictWithin(a, b), `${a} ${b}`).toBe(verdictRank(a) <= verdictRank(b));
  });

  it("only the four verdicts and the two pass thresholds are accepted", () => {
    for (const v of VERDICTS) expect(isVerdict(v)).toBe(true);
    for (const v of ["", "Clean", "__proto__", "toString", "constructor", 0, null, undefined, ["clean"]])
      expect(isVerdict(v), String(v)).toBe(false);
    expect(["clean", "suspicious"].every(isPassThreshold)).toBe(true);
    expect(["invalid", "malicious", "", "CLEAN"].some(isPassThreshold)).toBe(false);
  });

  it("verdictOption names the option and the verdicts", () => {
    expect(verdictOption("invalid", "maxVerdict")).toBe("invalid");
    let thrown: unknown;
    try {
      verdictOption("fine", "--max-verdict");
    } catch (error) {
      thrown = error;
    }
    expect(isModelgateError(thrown, "INVALID_ARGUMENT")).toBe(true);
    expect((thrown as Error).message).toBe("--max-verdict must be one of clean, suspicious, invalid, malicious");
  });
});

describe("maxVerdict is checked once, with the texts of before", () => {
  it("the API refuses a bad maxVerdict before reading anything", async () => {
    await expect(verifyAttestation("{}", tmp, { maxVerdict: "fine" as never, publicKey: "x" })).rejects.toThrow(
      "maxVerdict must be one of clean, suspicious, invalid, malicious",
    );
  });

  it("the CLI refuses a bad --max-verdict as a usage error (exit 2), whatever else is wrong", async () => {
    const dir = join(tmp, "m");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "README.md"), "# a model\n");
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const key = join(tmp, "k.pem");
    writeFileSync(key, String(keys.publicKey.export({ type: "spki", format: "pem" })));
    for (const bad of ["fine", "Clean", "__proto__", ""]) {
      const io = fakeIO({ cwd: tmp });
      const code = await runCli(
        ["verify-attestation", join(tmp, "missing.json"), dir, "--public-key", key, "--max-verdict", bad],
        io,
      );
      expect(code, bad).toBe(2);
      expect(io.err, bad).toMatch(
        /^modelgate verify-attestation: --max-verdict must be one of clean, suspicious, invalid, malicious\b/,
      );
    }
  });
});
