// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
import { describe, expect, it } from "vitest";
import type { FindingInput } from "../../../src/core/findings.js";
import { picklePolicy } from "../../../src/formats/pickle/policy/index.js";
import { analyzeYamlText } from "../../../src/formats/yaml/analyze.js";
import { composeYaml, expansionSize, lexYaml, resolveTag, YAML_BUDGETS } from "../../../src/formats/yaml/parse.js";
import { judgeTarget, resolversIn } from "../../../src/formats/yaml/targets.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const policy = picklePolicy("pickle");
const analyse = (text: string, extra: Partial<Parameters<typeof analyzeYamlText>[1]> = {}) =>
  analyzeYamlText(text, { policy, ...extra });
const rules = (findings: readonly FindingInput[]) => findings.map((f) => f.ruleId);
const severityOf = (f: FindingInput): string =>
  f.severity ??
  {
    "yaml/python-tag": "critical",
    "yaml/python-data-tag": "low",
    "yaml/unknown-tag": "medium",
    "yaml/hydra-target": "high",
    "yaml/custom-resolver": "high",
    "yaml/env-resolver": "info",
    "yaml/duplicate-key": "low",
  }[f.ruleId as string] ??
  "medium";

describe("YAML detection", () => {
  const cases: [string, string, string][] = [
    ["hparams.yaml", "lr: 0.1\n", "yaml"],
    ["config.yml", "a: 1\n", "yaml"],
    ["x.yaml", '{"a": 1}', "yaml"],
    ["x.yaml", "{{ jinja }}: 1\n", "yaml"],
    ["config", "%YAML 1.1\n---\na: 1\n", "yaml"],
    ["config", "---\nmodel:\n  lr: 0.1\n  layers:\n    - 1\n", "yaml"],
    ["config", 'x: 1\ny: !!python/object/apply:os.system ["id"]\n', "yaml"],
    ["notes.txt", 'y: !<tag:yaml.org,2002:python/name:os.system> ""\n', "yaml"],
    // unchanged formats
    ["README.md", "---\nlicense: mit\n---\n# Model\n", "text"],
    ["README", "---\nlicense: mit\n---\n# Model\nThis model classifies images.\n", "text"],
    ["exploit.md", 'Never load `!!python/object/apply:os.system ["id"]`\n- a: b\n', "text"],
    ["config.json", '{"a": 1}', "json"],
    ["x", '{"a": [1]}', "json"],
    ["run", "#!/bin/sh\necho hi\n", "shell"],
    ["tool", "import os\nx: 1\n", "python"],
    ["template", "{% if x %}y{% endif %}\n", "jinja"],
    ["notes", "key: value\nother: thing\n", "text"],
  ];
  it.each(cases)("%s %j is %s", async (name, text, format) => {
    const file = await scanOne(Buffer.from(text), name);
    expect(file.format).toBe(format);
  });

  it("recognises MLmodel by its exact name and flavors", async () => {
    expect((await scanOne(Buffer.from("flavors:\n  sklearn: {}\n"), "MLmodel")).format).toBe("mlflow");
    // a file named MLmodel goes to the MLflow analyzer whatever its shape (invalid without flavors)
    expect((await scanOne(Buffer.from("a: 1\n"), "MLmodel")).format).toBe("mlflow");
    expect((await scanOne(Buffer.from("flavors:\n  sklearn: {}\n"), "mlmodel")).format).toBe("text");
  });
});

describe("tags", () => {
  it("resolves standard, %TAG, verbatim and %-escaped tags", () => {
    const handles = new Map([["!p!", "tag:yaml.org,2002:python/"]]);
    expect(resolveTag("!!python/object:x.Y", handles)).toBe("tag:yaml.org,2002:python/object:x.Y");
    expect(resolveTag("!p!name:os.system", handles)).toBe("tag:yaml.org,2002:python/name:os.system");
    expect(resolveTag("!<tag:yaml.org,2002:python/module:os>", handles)).toBe("tag:yaml.org,2002:python/module:os");
    expect(resolveTag("!!python%2Fobject%2Fapply:os.system", handles)).toBe(
      "tag:yaml.org,2002:python/object/apply:os.system",
    );
    expect(resolveTag("!local", handles)).toBe("!local");
  });

  it.each([
    '!!python/object/apply:os.system ["id"]\n',
    'a: !!python/object/new:subprocess.Popen [["id"]]\n',
    "a: !!python/object:os.system {}\n",
    "a: !!python/name:os.system\n",
    "a: !!python/module:os\n",
    'a: !<tag:yaml.org,2002:python/object/apply:os.system> ["id"]\n',
    '%TAG !x! tag:yaml.org,2002:python/object/\n---\na: !x!apply:os.system ["id"]\n',
    '%TAG ! tag:yaml.org,2002:python/\n---\na: !object/apply:os.system ["id"]\n',
    'a: !!%70ython/object/apply:os.system ["id"]\n',
    '? !!python/object/apply:os.system ["id"]\n: value\n',
  ])("reports %j as critical", (text) => {
    const { findings } = analyse(text);
    const tag = findings.find((f) => f.ruleId === "yaml/python-tag");
    expect(tag, JSON.stringify(findings)).toBeDefined();
    expect(severityOf(tag!)).toBe("critical");
  });

  it("names the callee and its denylist category", () => {
    const { findings } = analyse('a: !!python/object/apply:os.system ["id"]\n');
    expect(findings[0]?.evidence).toMatchObject({ callee: "os.system", category: "process", line: 1 });
  });

  it("reports python tags even when the document does not parse", () => {
    const { findings, ok } = analyse('a: !!python/object/apply:os.system ["id"]\nb: [1\nc: d\n');
    expect(ok).toBe(false);
    expect(rules(findings)).toEqual(expect.arrayContaining(["yaml/python-tag", "yaml/malformed"]));
  });

  it("does not mistake tags written inside strings or comments", () => {
    const { findings } = analyse('doc: "use !!python/object/apply:os.system with care"\n# !!python/name:os.system\n');
    expect(rules(findings)).toEqual([]);
  });

  it("grades data tags low, custom tags medium and core tags not at all", () => {
    expect(rules(analyse("a: !!python/tuple [1, 2]\n").findings)).toEqual(["yaml/python-data-tag"]);
    expect(rules(analyse("a: !include other.yaml\n").findings)).toEqual(["yaml/unknown-tag"]);
    expect(rules(analyse("a: !!python/unknownthing 1\n").findings)).toEqual(["yaml/unknown-tag"]);
    expect(rules(analyse("a: !!str 1\nb: !!binary aGk=\nc: !!set {x}\nd: ! x\n").findings)).toEqual([]);
  });
});

describe("hydra targets", () => {
  it.each([
    ["torch.nn.Linear", undefined],
    ["torch.optim.lr_scheduler.StepLR", undefined],
    ["transformers.AutoConfig", undefined],
    ["nemo.collections.asr.modules.ConvASREncoder", undefined],
    ["lightning.pytorch.callbacks.ModelCheckpoint", undefined],
    ["builtins.dict", undefined],
    ["os.system", "critical"],
    ["posix.system", "critical"],
    ["subprocess.run", "critical"],
    ["builtins.eval", "critical"],
    ["importlib.import_module", "critical"],
    ["pickle.loads", "critical"],
    ["torch.load", "critical"],
    ["torch.nn.modules.module.sys.modules", "critical"],
    ["transformers.pipeline", "high"],
    ["transformers.AutoModel.from_pretrained", "high"],
    ["mypackage.models.Net", "high"],
    ["${model.cls}", "high"],
    ["os.system; id", "high"],
  ])("judges %s as %s", (name, severity) => {
    expect(judgeTarget(name, policy).severity).toBe(severity);
  });

  it("judges hydra.utils.get_method by the path it resolves", () => {
    const get = (path: string) =>
      analyse(`f:\n  _target_: hydra.utils.get_method\n  path: ${path}\n`).findings.filter(
        (f) => f.ruleId === "yaml/hydra-target",
      );
    expect(get("torch.nn.functional.relu")).toEqual([]);
    expect(get("builtins.exec")[0]).toMatchObject({ severity: "critical", evidence: { callee: "builtins.exec" } });
    expect(get("mymodule.fn")[0]?.severity).toBe("high");
    const positional = analyse("f:\n  _target_: hydra.utils.get_class\n  _args_: [os.system]\n").findings;
    expect(positional[0]).toMatchObject({ severity: "critical" });
    expect(analyse("f:\n  _target_: hydra.utils.get_class\n").findings[0]?.severity).toBe("high");
  });

  it("finds targets at any depth, in lists, under duplicate keys and in flow style", () => {
    const text =
      "a:\n  - b: {_target_: torch.nn.ReLU}\n  - c:\n      _target_: os.system\n      _args_: [id]\nd: {_target_: torch.nn.ReLU, _target_: subprocess.call}\n";
    const found = analyse(text).findings.filter((f) => f.ruleId === "yaml/hydra-target");
    expect(found.map((f) => f.evidence?.callee)).toEqual(expect.arrayContaining(["os.system", "subprocess.call"]));
  });

  it("marks _partial_ targets and non-string targets", () => {
    const partial = analyse("f:\n  _target_: os.system\n  _partial_: true\n").findings[0];
    expect(partial?.message).toContain("hands out");
    expect(partial?.evidence?.partial).toBe("true");
    expect(analyse("f:\n  _target_: [os, system]\n").findings[0]?.ruleId).toBe("yaml/hydra-target");
  });

  it("checks NeMo's top-level target only when asked (plain YAML: as instantiate_from_config does)", () => {
    expect(analyse("target: os.system\n").findings[0]?.severity).toBe("critical");
    expect(analyse("target: price\n").findings).toEqual([]);
    expect(analyse("target: os.system\n", { topLevelTarget: "all" }).findings[0]?.severity).toBe("critical");
    expect(analyse("target: os.system\n", { topLevelTarget: "dotted" }).findings[0]?.severity).toBe("critical");
    expect(analyse("target: price\n", { topLevelTarget: "dotted" }).findings).toEqual([]);
    expect(analyse("target: price\n", { topLevelTarget: "all" }).findings[0]?.severity).toBe("high");
    expect(analyse("target: nemo.collections.asr.models.EncDecCTCModel\n", { topLevelTarget: "all" }).findings).toEqual(
      [],
    );
  });

  it("follows the caller's pickle policy", () => {
    const custom = picklePolicy("pickle", { allow: ["mycompany.models.*"], deny: ["torch.nn.Identity"] });
    expect(judgeTarget("mycompany.models.Net", custom).severity).toBeUndefined();
    expect(judgeTarget("torch.nn.Identity", custom).severity).toBe("critical");
  });
});

describe("resolvers, duplicates", () => {
  it("grades resolvers", () => {
    expect(resolversIn("${eval:'1+1'}")).toEqual([{ name: "eval", severity: "high" }]);
    expect(resolversIn("${python:os.getcwd()}")[0]?.severity).toBe("high");
    expect(resolversIn("${my_div:4,2}")[0]?.severity).toBe("medium");
    expect(resolversIn("${oc.env:HOME}")[0]?.severity).toBe("info");
    expect(resolversIn("${oc.select:a.b,1} ${now:%Y} ${hydra:job.name} ${a.b}")).toEqual([
      { name: "oc.select" },
      { name: "now" },
      { name: "hydra" },
    ]);
    expect(resolversIn("\\${eval:1}")).toEqual([]);
    expect(resolversIn("${HOME:-/root} ${TAG:=x} ${{ secrets.TOKEN }}")).toEqual([]);
  });

  it("reports resolvers in values and keys", () => {
    const { findings } = analyse('a: ${eval:\'__import__("os").system("id")\'}\n${python:x}: 1\nh: ${oc.env:HOME}\n');
    expect(findings.filter((f) => f.ruleId === "yaml/custom-resolver")).toHaveLength(2);
    expect(rules(findings)).toContain("yaml/env-resolver");
  });

  it("reports duplicate keys", () => {
    const { findings } = analyse("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n");
    expect(findings.filter((f) => f.ruleId === "yaml/duplicate-key").map((f) => f.evidence?.key)).toEqual(
      expect.arrayContaining(["a", "c"]),
    );
    expect(analyse("<<: {a: 1}\n<<: {b: 2}\n").findings).toEqual([]);
  });
});

describe("budgets", () => {
  const laughs = (levels: number, width: number): string => {
    const lines = [`l0: &l0 [${Array(width).fill("lol").join(",")}]`];
    for (let i = 1; i < levels; i++)
      lines.push(
        `l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(",")}]`,
      );
    return `${lines.join("\n")}\n`;
  };

  it("measures alias expansion without performing it", () => {
    const { docs } = composeYaml(laughs(9, 10));
    const t = Date.now();
    expect(expansionSize(docs[0]?.contents, 1_000_000)).toBe(1_000_001);
    expect(Date.now() - t).toBeLessThan(1000);
    expect(expansionSize(composeYaml("a: &a [1, 2]\nb: [*a, *a]\n").docs[0]?.contents, 100)).toBe(13);
  });

  it("reports billion laughs and recursive aliases as alias bombs", () => {
    expect(rules(analyse(laughs(12, 10)).findings)).toContain("yaml/alias-bomb");
    expect(rules(analyse("a: &a [1, *a]\n").findings)).toContain("yaml/alias-bomb");
    expect(rules(analyse(laughs(3, 5)).findings)).not.toContain("yaml/alias-bomb");
  });

  it("stops at the node budget before composing, still reporting python tags", () => {
    const text = `${"x: !!python/object/apply:os.system [id]\n"}big: [${Array(2000).fill("1").join(",")}]\n`;
    const result = analyse(text, { budgets: { ...YAML_BUDGETS, maxNodes: 1000 } });
    expect(result.exceeded?.code).toBe("BUDGET_EXCEEDED");
    expect(result.docs).toEqual([]);
    expect(rules(result.findings)).toContain("yaml/python-tag");
  });

  it("refuses deep nesting without recursing", () => {
    const deep = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;
    const lex = lexYaml(deep, YAML_BUDGETS);
    expect(lex.exceeded?.budget).toBe("yamlDepth");
    const block = Array.from({ length: 400 }, (_, i) => `${" ".repeat(i)}k:`).join("\n");
    expect(analyse(`${block} 1\n`).exceeded?.message).toContain("nested deeper");
  });

  it("scans hostile files to a verdict, never clean", async () => {
    const bomb = await scanOne(Buffer.from(laughs(10, 10)), "bomb.yaml");
    expect(bomb.verdict).toBe("invalid");
    const wide = await scanOne(Buffer.from(`a: [${Array(150_000).fill("1").join(",")}]\n`), "wide.yaml");
    expect(wide.verdict).toBe("invalid");
    expect(ruleIds(wide)).toContain("scan/budget-exceeded");
    const deep = await scanOne(Buffer.from(`${"{a: ".repeat(5000)}1${"}".repeat(5000)}`), "deep.yaml");
    expect(deep.verdict).toBe("invalid");
    const broken = await scanOne(Buffer.from('a: [1\nb: !!python/object/apply:os.system ["id"]\n'), "x.yaml");
    expect(broken.verdict).toBe("malicious");
  });
});
