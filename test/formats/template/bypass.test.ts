/**
 * Templates that once scanned `clean`: a `.jinja` file holding a NUL byte, and special-token
 * values from the tokenizer config used as attribute names (`raise_exception[bos_token]` with
 * `bos_token: "__globals__"`), which transformers passes to the renderer as variables.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeTemplate } from "../../../src/formats/template/analyze.js";
import { scan } from "../../../src/scan/engine.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const SSTI = '{{ cycler.__init__.__globals__.os.popen("id").read() }}';

describe(".jinja files are templates whatever bytes they hold", () => {
  it.each([
    ["a NUL inside a comment", `{% for m in messages %}{{ m.content }}{% endfor %}{#\0#}${SSTI}`],
    ["a NUL at the start", `\0${SSTI}`],
    ["%YAML on the first line", `%YAML 1.2\n${SSTI}`],
    ["a JSON-looking opening", `{"a": 1}\n${SSTI}`],
  ])("chat_template.jinja with %s is analysed", async (_label, text) => {
    for (const name of ["chat_template.jinja", "additional_chat_templates/tool_use.jinja"]) {
      const file = await scanOne(bytes(text), name);
      expect(file.format).toBe("jinja");
      expect(ruleIds(file)).toContain("template/dunder-access");
      expect(file.verdict).toBe("malicious");
    }
  });

  it("a chat_template with a \\u0000 escape in tokenizer_config.json is analysed", async () => {
    const file = await scanOne(
      bytes(JSON.stringify({ chat_template: `{% for m in messages %}{{ m.content }}{% endfor %}{#\0#}${SSTI}` })),
      "tokenizer_config.json",
    );
    expect(ruleIds(file)).toContain("template/dunder-access");
    expect(file.verdict).toBe("malicious");
  });
});

describe("special tokens used as attribute names", () => {
  const EVIL = {
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: "[UNK]",
    bos_token: "__globals__",
    eos_token: "__builtins__",
    sep_token: "__import__",
    pad_token: "os",
    cls_token: "popen",
    chat_template:
      '{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}{{ raise_exception[bos_token][eos_token][sep_token](pad_token)[cls_token]("id").read() }}{% endif %}',
  };

  it("the analysis checks a subscript by a variable whose value it is given", () => {
    const template = "{{ raise_exception[bos_token][eos_token] }}";
    const found = analyzeTemplate(template, {
      variables: new Map([
        ["bos_token", "__globals__"],
        ["eos_token", "__builtins__"],
      ]),
    }).findings;
    expect(
      found
        .filter((f) => f.ruleId === "template/dunder-access")
        .map((f) => f.evidence.name)
        .sort(),
    ).toEqual(["__builtins__", "__globals__"]);
  });

  it("a subscript by a special token of unknown value is reported", () => {
    const found = analyzeTemplate("{{ raise_exception[bos_token] }}").findings;
    expect(found.map((f) => f.ruleId)).toContain("template/dynamic-attribute");
  });

  it("benign uses of special tokens stay clean", () => {
    const t = "{{ bos_token }}{% for m in messages %}{{ m['content'] + eos_token }}{% endfor %}";
    expect(analyzeTemplate(t, { variables: new Map([["bos_token", "<s>"]]) }).findings).toEqual([]);
  });

  it("tokenizer_config.json: the template's subscripts by special tokens are resolved", async () => {
    const file = await scanOne(bytes(JSON.stringify(EVIL)), "tokenizer_config.json");
    expect(ruleIds(file)).toEqual(
      expect.arrayContaining(["template/dunder-access", "template/code-execution-name", "template/dunder-string"]),
    );
    expect(file.verdict).toBe("malicious");
  });

  it("tokenizer_config.json: a special token naming an escape dunder is reported without a template", async () => {
    const file = await scanOne(
      bytes(JSON.stringify({ bos_token: { content: "__globals__" }, extra_special_tokens: { boi_token: "__mro__" } })),
      "tokenizer_config.json",
    );
    expect(file.findings.map((f) => [f.ruleId, f.evidence?.token])).toEqual([
      ["template/dunder-string", "bos_token"],
      ["template/dunder-string", "extra_special_tokens.boi_token"],
    ]);
    expect(file.verdict).not.toBe("clean");
  });

  it("language-code tokens (__en__) and ordinary special tokens are not findings", async () => {
    const file = await scanOne(
      bytes(
        JSON.stringify({
          bos_token: "<s>",
          eos_token: { content: "</s>", lstrip: false },
          additional_special_tokens: ["__en__", "__fr__", "<mask>"],
          chat_template: "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}",
        }),
      ),
      "tokenizer_config.json",
    );
    expect(file.findings).toEqual([]);
  });

  describe("with the template in chat_template.jinja", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "modelgate-template-tokens-"));
      await mkdir(join(dir, "m"));
      const { chat_template: template, ...config } = EVIL;
      await writeFile(join(dir, "m", "tokenizer_config.json"), JSON.stringify(config));
      await writeFile(join(dir, "m", "chat_template.jinja"), template);
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("both files carry findings and the directory is not clean", async () => {
      const report = await scan(join(dir, "m"));
      const byPath = new Map(report.files.map((f) => [f.path, f]));
      expect(ruleIds(byPath.get("tokenizer_config.json")!)).toContain("template/dunder-string");
      expect(ruleIds(byPath.get("chat_template.jinja")!)).toContain("template/dynamic-attribute");
      expect(report.verdict).toBe("malicious");
    });
  });
});

describe("template files the sniffer takes for another format", () => {
  let dir: string;
  const prefixes: Record<string, string> = { gif: "GIF89a", zip: "PK\u0003\u0004", gguf: "GGUF" };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelgate-template-magic-"));
    for (const [name, prefix] of Object.entries(prefixes)) {
      await mkdir(join(dir, name, "additional_chat_templates"), { recursive: true });
      await writeFile(join(dir, name, "chat_template.jinja"), `${prefix}${SSTI}`);
      await writeFile(join(dir, name, "additional_chat_templates", "tool_use.jinja"), `${prefix}${SSTI}`);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(Object.keys(prefixes))(
    "a %s magic in front of chat_template.jinja does not hide the template",
    async (name) => {
      const report = await scan(join(dir, name));
      for (const path of ["chat_template.jinja", "additional_chat_templates/tool_use.jinja"]) {
        const file = report.files.find((f) => f.path === path);
        expect(file && ruleIds(file)).toContain("template/dunder-access");
        expect(file?.verdict).toBe("malicious");
      }
    },
  );
});
