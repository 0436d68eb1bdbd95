// PyYAML refuses a stream with a character outside YAML's printable set before parsing it; such a
// text is malformed YAML here too (never clean), whatever a more lenient parser makes of it.
import { describe, expect, it } from "vitest";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";
import { scanOne } from "../../helpers/scan.js";

const policy = picklePolicy("pickle");
const rules = (text: string) => analyzeYamlText(text, { policy }).findings.map((f) => f.ruleId);

describe("YAML printable characters", () => {
  it("U+FFFF, C1 controls and lone surrogates are malformed; tabs, NEL, emoji and BOMs are not", () => {
    expect(rules("a: 1\nb: \uffff\n")).toContain("yaml/malformed");
    expect(rules("a: \u0090\n")).toContain("yaml/malformed");
    expect(rules("a: \ud800\n")).toContain("yaml/malformed");
    expect(rules("a: \u0001\n")).toContain("yaml/malformed");
    expect(rules("a:\t1\nb: caf\u00e9 \u{1f600}\u0085\n")).not.toContain("yaml/malformed");
  });

  it("a UTF-16BE file that PyYAML refuses for a U+FFFF is invalid, not clean", async () => {
    const body = "a: \uffff\n_target_: os.system\n";
    const bytes = new Uint8Array(2 + body.length * 2);
    bytes[0] = 0xfe;
    bytes[1] = 0xff;
    for (let i = 0; i < body.length; i++) {
      bytes[2 + 2 * i] = body.charCodeAt(i) >> 8;
      bytes[3 + 2 * i] = body.charCodeAt(i) & 0xff;
    }
    const report = await scanOne(bytes, "conf.yaml");
    expect(report.verdict).not.toBe("clean");
    expect(report.findings.map((f) => f.ruleId)).toContain("yaml/malformed");
  });
});
