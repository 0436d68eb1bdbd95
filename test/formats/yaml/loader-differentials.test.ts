// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * What PyYAML, OmegaConf and Hydra read that a YAML 1.2 parser alone would not (found by an attack
 * review; each case was run with PyYAML / OmegaConf and a Hydra `instantiate` stand-in): line breaks
 * at CR, NEL, LS and PS; nodes built by `oc.create` / `oc.decode` when the config is resolved; an
 * allowed loader told to trust the repository's code.
 */
import { describe, expect, it } from "vitest";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";
import { builtNodes } from "../../../src/formats/yaml/targets.js";

const analyze = (text: string) =>
  analyzeYamlText(text, { policy: picklePolicy("pickle") }).findings.map((f) => [f.ruleId, f.severity ?? ""]);

describe("line breaks PyYAML knows", () => {
  it.each([
    ["CR", "\r"],
    ["NEL", "\u0085"],
    ["LS", "\u2028"],
    ["PS", "\u2029"],
  ])("a %s ends a comment: what follows it is read", (_, brk) => {
    // PyYAML: {'model': {'hook': <os.system(...)>}}; a YAML 1.2 reader: one comment
    const tagged = `model:\n  name: x # note${brk}  hook: !!python/object/apply:os.system ["echo x"]\n`;
    expect(analyze(tagged).map(([r]) => r)).toContain("yaml/python-tag");
    const target = `model:\n  name: x # note${brk}  hook:${brk}    _target_: os.system\n`;
    expect(analyze(target)).toContainEqual(["yaml/hydra-target", "critical"]);
  });

  it("keeps CRLF and the offsets of every line", () => {
    const findings = analyzeYamlText("a: 1\r\nb:\r\n  _target_: os.system\r\n", {
      policy: picklePolicy("pickle"),
    }).findings;
    expect(findings.map((f) => f.ruleId)).toEqual(["yaml/hydra-target"]);
    expect(findings[0]?.evidence?.line).toBe(3);
  });
});

describe("nodes built when the config is resolved", () => {
  it("reads the arguments of oc.create and oc.decode, nested ones too", () => {
    expect(builtNodes("${oc.create:{_target_: os.system, _args_: ['echo x']}}")).toEqual([
      { resolver: "oc.create", text: "{_target_: os.system, _args_: ['echo x']}" },
    ]);
    expect(builtNodes("${oc.create:${oc.decode:'{_target_: os.system}'}}").map((b) => b.text)).toEqual([
      "${oc.decode: '{_target_: os.system}'}",
      "{_target_: os.system}",
    ]);
    expect(builtNodes("\\${oc.create:{a: 1}}")).toEqual([]);
  });

  it("instantiates what they build like any other target", () => {
    const created = analyze("window: \"${oc.create:{_target_: os.system, _args_: ['echo x']}}\"\n");
    expect(created).toContainEqual(["yaml/hydra-target", "critical"]);
    expect(created).toContainEqual(["yaml/custom-resolver", "high"]);
    const decoded = analyze("window: \"${oc.create:${oc.decode:'{_target_: os.system}'}}\"\n");
    expect(decoded).toContainEqual(["yaml/hydra-target", "critical"]);
    // OmegaConf's grammar reads `{_target_:os.system}` (no space) as a key and its value
    expect(analyze("w: \"${oc.create:{_target_:os.system,_args_:['echo x']}}\"\n")).toContainEqual([
      "yaml/hydra-target",
      "critical",
    ]);
    // a resolver whose name is interpolated is chosen when the value is read
    expect(analyze('n: create\nw: "${oc.${n}:{_target_: os.system}}"\n')).toContainEqual([
      "yaml/custom-resolver",
      "high",
    ]);
    // a plain node built at resolve time: still reported, not high
    expect(analyze('sizes: "${oc.create:[1, 2]}"\n')).toEqual([["yaml/custom-resolver", "medium"]]);
  });
});

describe("the work nested resolver arguments may take", () => {
  it("parses a bounded number of arguments in one analysis; an argument left unread is high", () => {
    // nested and repeated oc.create could otherwise multiply the parsing (16 arguments a value, four
    // levels deep); the analysis shares one budget of arguments (64) and characters
    const value = Array.from({ length: 16 }, () => "${oc.create:{a: 1}}").join(" ");
    const few = analyzeYamlText(`v: "${value}"\n`, { policy: picklePolicy("pickle") }).findings;
    expect(few.filter((f) => f.ruleId === "yaml/custom-resolver").map((f) => f.severity)).not.toContain("high");
    const many = Array.from({ length: 5 }, (_, i) => `v${i}: "${value}"`).join("\n");
    const findings = analyzeYamlText(`${many}\n`, { policy: picklePolicy("pickle") }).findings;
    expect(findings.some((f) => f.ruleId === "yaml/custom-resolver" && f.severity === "high")).toBe(true);
  });
});

describe("allowed loaders told to run the repository's code", () => {
  it("reports trust_remote_code on an instantiated target unless it is false", () => {
    const config = (trust: string) =>
      `model:\n  _target_: transformers.models.auto.modeling_auto.AutoModel.from_pretrained\n  pretrained_model_name_or_path: attacker/model\n  trust_remote_code: ${trust}\n`;
    expect(analyze(config("true"))).toEqual([["yaml/hydra-target", "high"]]);
    expect(analyze(config("${oc.env:TRUST}"))).toContainEqual(["yaml/hydra-target", "high"]);
    expect(analyze(config("false"))).toEqual([]);
  });
});
