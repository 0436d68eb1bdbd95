/** Text detection: a name that says how a loader reads the file decides over its content. */
import { describe, expect, it } from "vitest";
import { detectText } from "../../../src/formats/text/index.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const detect = (s: string, name: string) => {
  const head = bytes(s);
  return detectText({ head, tail: head, size: head.length, name })?.format;
};

describe("detection by name", () => {
  it.each([
    ["NUL byte", "{{ x }}{#\0#}"],
    ["%YAML", "%YAML 1.2\n{{ x }}"],
    ["JSON", '{"a": 1}'],
    ["Python", "import os\n{{ x }}"],
  ])(".jinja with %s is jinja", (_label, text) => {
    expect(detect(text, "chat_template.jinja")).toBe("jinja");
    expect(detect(text, "additional_chat_templates/x.j2")).toBe("jinja");
  });

  it("a .py that opens with {# is Python", () => {
    expect(detect("{#\nimport os\n#}\nos.system('id')\n", "modeling_x.py")).toBe("python");
    expect(detect("{#\nimport os\n#}\n", "notes.txt")).toBe("jinja");
  });

  it("a .py opening like a Jinja comment keeps its Python findings", async () => {
    const file = await scanOne(bytes("{#: 1}\nimport os\nos.system('touch /tmp/x')\n"), "modeling_evil.py");
    expect(file.format).toBe("python");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["repo/python-file", "repo/risky-code"]));
    expect(file.verdict).toBe("malicious");
  });
});
