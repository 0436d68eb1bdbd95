// Chat templates in JSON and YAML documents of any name (session 31, held-out run of ModelAudit's
// jinja2 assets): a `chat_template` in config.json, any other JSON, a nested
// `model.custom_chat_template` or a config.yaml scanned clean, because only tokenizer_config.json,
// chat_template.json and processor configs were searched. Every string under a key naming a
// template, and every string elsewhere that looks like Jinja, is now analysed (../../src/formats/
// template/embedded.ts); plain placeholders in real configs stay clean.
import { describe, expect, it } from "vitest";
import type { FindingInput } from "../../../src/core/findings.js";
import { parseStrictJson } from "../../../src/core/json.js";
import { EMBEDDED_BUDGETS, judgeLoose, reportJsonTemplates } from "../../../src/formats/template/embedded.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => bytes(JSON.stringify(v, null, 1));

/** The CVE-2024-34359 gadget chain (llama-cpp-python < 0.2.72 rendered it unsandboxed). */
const EVIL = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
/** A string escape spells the dunder: no `__` in the text. */
const EVIL_HEX = "{{ cycler.__init__['\\x5f\\x5fglobals\\x5f\\x5f'].os.popen('id').read() }}";
/** A template that reaches `os` without a dunder a text scan would see, through a keyword name. */
const EVIL_KEYS =
  "{% set u = dict(_=1)|list|first %}{% set g = u*2 ~ dict(globals=1)|list|first ~ u*2 %}" +
  "{% set i = u*2 ~ dict(init=1)|list|first ~ u*2 %}{% set c = namespace %}{{ c[i][g].os.popen('id').read() }}";
const BENIGN =
  "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

describe("templates under any key naming a template, in any JSON file", () => {
  it.each(["config.json", "generation_config.json", "model.json", "tokenizer_config.backup.json", "x/settings.json"])(
    "chat_template in %s",
    async (name) => {
      const file = await scanOne(json({ model_type: "llama", chat_template: EVIL }), name);
      expect(file.verdict).toBe("malicious");
      expect(ruleIds(file)).toContain("template/dunder-access");
    },
  );

  it("a nested model.custom_chat_template in tokenizer_config.json, with the special tokens", async () => {
    const file = await scanOne(
      json({ bos_token: "<s>", chat_template: BENIGN, model: { custom_chat_template: EVIL_HEX } }),
      "tokenizer_config.json",
    );
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["template/dunder-access", "template/obfuscated-name"]));
    expect(file.findings.some((f) => f.message.startsWith("model.custom_chat_template:"))).toBe(true);
  });

  it("the [{name, template}] shape and template-named keys at any depth", async () => {
    const doc = {
      serving: {
        chat_template: [
          { name: "default", template: BENIGN },
          { name: "tool_use", template: EVIL_KEYS },
        ],
      },
      prompts: { PROMPT_TEMPLATE: { system: EVIL } },
    };
    const file = await scanOne(json(doc), "serving.json");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["template/dunder-access", "template/obfuscated-name"]));
    const where = new Set(file.findings.map((f) => f.evidence?.template));
    expect(where).toContain("serving.chat_template[1].template");
    expect(where).toContain("prompts.PROMPT_TEMPLATE.system");
  });

  it("a JSON document whose root is a list", async () => {
    const file = await scanOne(json([{ name: "a", template: EVIL }]), "templates.json");
    expect(ruleIds(file)).toContain("template/dunder-access");
  });

  it("keeps the tokenizer config's own template as it was (reported once, with its severities)", async () => {
    const doc = { eos_token: "</s>", chat_template: EVIL, extra: { chat_template: EVIL } };
    const file = await scanOne(json(doc), "tokenizer_config.json");
    const alone = await scanOne(json({ eos_token: "</s>", chat_template: EVIL }), "tokenizer_config.json");
    expect(file.findings.map((f) => [f.ruleId, f.severity, f.message])).toEqual(
      alone.findings.map((f) => [f.ruleId, f.severity, f.message]),
    );
  });

  it("a string under a template key without a Jinja delimiter renders as itself: not analysed", async () => {
    const file = await scanOne(
      json({ template: "{name}_{id} __globals__", prompt_template: "Q: {question}" }),
      "c.json",
    );
    expect(file.findings).toEqual([]);
  });
});

describe("templates in YAML documents", () => {
  it("chat_template in config.yaml", async () => {
    const file = await scanOne(bytes(`model_name: m\nchat_template: "${EVIL}"\n`), "config.yaml");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("template/dunder-access");
  });

  it("nested, in a block scalar, in a list of {name, template}", async () => {
    const text = `serving:\n  templates:\n    - name: default\n      template: |\n        ${BENIGN}\n    - name: tools\n      template: |\n        ${EVIL_KEYS}\n`;
    const file = await scanOne(bytes(text), "serving.yaml");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("template/obfuscated-name");
  });

  it("an alias under a template key is read as a template there", async () => {
    // `x.os.popen` alone is no escape (only a template key makes it a finding)
    const text = `defaults:\n  run: &t "{{ x.os.popen('id').read() }}"\nchat_template: *t\n`;
    const file = await scanOne(bytes(text), "config.yaml");
    expect(ruleIds(file)).toContain("template/code-execution-name");
    const plain = await scanOne(bytes(`defaults:\n  run: &t "{{ x.os.popen('id').read() }}"\n`), "config.yaml");
    expect(plain.findings).toEqual([]);
  });

  it("a key given by an alias is the key PyYAML constructs (`*k:` after `&k chat_template`)", async () => {
    const text = `names: [&k chat_template]\n*k : "{{ x.os.popen('id').read() }}"\n`;
    const file = await scanOne(bytes(text), "instruction.yaml");
    expect(ruleIds(file)).toContain("template/code-execution-name");
  });

  it("an anchored collection merged under a template key", async () => {
    const text = `base: &b\n  text: "{{ x.os.popen('id').read() }}"\nprompt_templates:\n  <<: *b\n`;
    const file = await scanOne(bytes(text), "config.yaml");
    expect(ruleIds(file)).toContain("template/code-execution-name");
  });
});

describe("strings that only look like Jinja, under keys that do not say template", () => {
  it.each([
    ["settings.json", json({ system_prompt: EVIL })],
    ["settings.json", json({ a: { b: [EVIL_HEX] } })],
    ["params.yaml", bytes(`prompt: "${EVIL}"\n`)],
    ["params.yaml", bytes(`steps:\n  - render: ${JSON.stringify(EVIL_KEYS)}\n`)],
  ])("an escape is reported at its severity (%s)", async (name, data) => {
    const file = await scanOne(data, name);
    expect(file.verdict).toBe("malicious");
    expect(file.findings.some((f) => f.severity === "critical")).toBe(true);
  });

  it.each([
    // GitHub Actions expressions, MLflow / LangChain prompts, i18n placeholders, Go templates, Hydra
    [
      "ci.yml",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not JavaScript
      "jobs:\n  t:\n    runs-on: ${{ matrix.os }}\n    steps:\n      - uses: actions/cache@v4\n        with:\n          key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements.txt') }}\n          token: ${{ secrets.GITHUB_TOKEN }}\n",
    ],
    ["MLmodel.yaml", "prompt: 'Answer {{ question }} using {{ config.name }} and {{ doc._id }} {{ request }}'\n"],
    [
      "conf.yaml",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an OmegaConf interpolation, not JavaScript
      "model:\n  name: ${base.name}\n  prompt: 'Use {{ context }}'\n  go: '{{ .Prompt }}{{ if .System }}x{{ end }}'\n",
    ],
    ["i18n.json", JSON.stringify({ items: "{{count}} items", broken: "{{ }} and {% oops", inc: "{% include 'x' %}" })],
    ["chat.yaml", `chat_template: "${BENIGN}"\n`],
    ["config.json", JSON.stringify({ chat_template: BENIGN, prompt_template: "{{ system }}\n{{ user }}" })],
  ])("benign text stays clean without any finding (%s)", async (name, text) => {
    const file = await scanOne(bytes(text), name);
    expect(file.verdict).toBe("clean");
    expect(file.findings).toEqual([]);
  });

  it("judgeLoose keeps everything with an escape, Jinja's gadgets alone, nothing else", () => {
    const f = (ruleId: string, extra: Partial<FindingInput> = {}): FindingInput =>
      ({ ruleId, message: ruleId, ...extra }) as FindingInput;
    const noise = [
      f("template/code-execution-name"),
      f("template/unparseable"),
      f("template/private-attribute", { evidence: { name: "_id" } }),
      f("template/gadget-reference", { evidence: { name: "config" } }),
      f("template/dynamic-attribute"),
    ];
    expect(judgeLoose(noise)).toEqual([]);
    const gadget = f("template/gadget-reference", { evidence: { name: "lipsum" } });
    expect(judgeLoose([...noise, gadget])).toEqual([gadget]);
    const mangled = f("template/private-attribute", { evidence: { name: "_TemplateReference__context" } });
    expect(judgeLoose([...noise, mangled])).toHaveLength(6);
    expect(judgeLoose([f("template/dynamic-attribute", { severity: "high" }), noise[0]!])).toHaveLength(2);
  });
});

describe("budgets: what is not analysed is reported", () => {
  it("more templates under template keys than the budget", async () => {
    const doc = { templates: Array.from({ length: EMBEDDED_BUDGETS.maxKeyed + 5 }, (_, i) => `{{ messages[${i}] }}`) };
    const file = await scanOne(json(doc), "many.json");
    const cut = file.findings.filter((x) => x.ruleId === "scan/budget-exceeded");
    expect(cut).toHaveLength(1);
    expect(cut[0]!.evidence).toMatchObject({ notAnalysed: 5, underTemplateKey: true });
    expect(file.verdict).not.toBe("clean");
  });

  it("the same text many times is analysed once", async () => {
    const doc = { templates: Array.from({ length: 5000 }, () => BENIGN) };
    const file = await scanOne(json(doc), "many.json");
    expect(file.findings).toEqual([]);
  });

  it("small budgets: candidates, loose strings, characters, steps", async () => {
    const root = parseStrictJson(
      JSON.stringify({
        a_template: ["{{ a }}", "{{ b }}", "{{ c }}"],
        other: ["{{ d }}", "{{ e }}"],
        big: `{{ ${"x".repeat(100)} }}`,
      }),
    ).value;
    const run = async (budgets: Partial<typeof EMBEDDED_BUDGETS>) => {
      const found: FindingInput[] = [];
      await reportJsonTemplates((x) => found.push(x), root, { budgets: { ...EMBEDDED_BUDGETS, ...budgets } });
      return found.filter((x) => x.ruleId === "scan/budget-exceeded").map((x) => x.evidence);
    };
    expect(await run({})).toEqual([]);
    expect(await run({ maxCandidates: 4 })).toEqual([expect.objectContaining({ notAnalysed: 2 })]);
    expect(await run({ maxLoose: 1 })).toEqual([expect.objectContaining({ notAnalysed: 2, underTemplateKey: false })]);
    expect(await run({ maxKeyedChars: 14 })).toEqual([
      expect.objectContaining({ notAnalysed: 1, underTemplateKey: true }),
    ]);
    expect(await run({ maxLooseChars: 50 })).toEqual([expect.objectContaining({ notAnalysed: 1 })]);
    expect(await run({ maxSteps: 3 })).toEqual([expect.objectContaining({ budget: "template.embeddedSteps" })]);
  });

  it("many strings that look like Jinja past the loose budget", async () => {
    const doc = { rows: Array.from({ length: EMBEDDED_BUDGETS.maxLoose + 3 }, (_, i) => `row {{ v${i} }}`) };
    const file = await scanOne(json(doc), "data.json");
    const cut = file.findings.filter((x) => x.ruleId === "scan/budget-exceeded");
    expect(cut.map((x) => x.evidence)).toEqual([expect.objectContaining({ notAnalysed: 3, underTemplateKey: false })]);
  });
});
