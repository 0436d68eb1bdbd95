// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * A value padded with harmless resolver uses still has its last, dangerous one judged: the
 * resolver list past its cap keeps every severity a later use brings, never dropping it silently.
 */
import { describe, expect, it } from "vitest";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";
import { resolversIn } from "../../../src/formats/yaml/targets.js";

const analyze = (text: string) =>
  analyzeYamlText(text, { policy: picklePolicy("pickle") }).findings.map((f) => [f.ruleId, f.severity ?? ""]);
const pad = (n: number) => Array.from({ length: n }, (_, i) => `\${oc.select:a${i},b}`).join("");

describe("resolver uses past the list's cap", () => {
  it("a code resolver after 64 harmless ones is listed", () => {
    const uses = resolversIn(`${pad(70)}\${python:__import__('os').system('id')}`);
    expect(uses.some((u) => u.name === "python" && u.severity === "high")).toBe(true);
    expect(uses.length).toBeLessThanOrEqual(66);
  });

  it("the YAML analysis reports it high", () => {
    const text = `value: "${pad(70)}\${python:__import__('os').system('id')}"\n`;
    expect(analyze(text)).toContainEqual(["yaml/custom-resolver", "high"]);
  });

  it("many uses of one severity stay bounded", () => {
    expect(resolversIn(pad(5000)).length).toBe(64);
  });
});
