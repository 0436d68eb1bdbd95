// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * Every `oc.create`/`oc.decode` of a value is looked at: padding one value with harmless ones does
 * not push a `_target_` past what is analysed.
 */
import { describe, expect, it } from "vitest";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";

describe("oc.create padding", () => {
  it("the 17th oc.create of one value is still judged", () => {
    const pad = Array.from({ length: 16 }, () => "${oc.create:{a: 1}}").join(" ");
    const text = `x: "${pad} \${oc.create:{_target_: os.system, command: id}}"\n`;
    const analysis = analyzeYamlText(text, { policy: picklePolicy("pickle") });
    const target = analysis.findings.find((f) => f.ruleId === "yaml/hydra-target");
    expect(target).toMatchObject({ severity: "critical", evidence: { callee: "os.system" } });
  });
});
