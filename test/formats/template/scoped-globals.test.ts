import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = (s: string) => new TextEncoder().encode(s);
// reaches lipsum's attributes by names that arrive at run time (a message's content)
const USE = "{{ lipsum|attr(messages[0]['content']) }}";

describe("a binding of Jinja's own globals does not hide the global", () => {
  it.each([
    ["a scoped with", `{% with lipsum = 'x' %}{% endwith %}${USE}`],
    ["a macro parameter", `{% macro f(lipsum='x') %}{% endmacro %}${USE}`],
    ["a set inside a loop", `{% for m in messages %}{% set lipsum = m %}{% endfor %}${USE}`],
    ["a set in a dead branch", `{% if false %}{% set lipsum = 'x' %}{% endif %}${USE}`],
  ])("%s", async (_, template) => {
    const file = await scanOne(enc(template), "chat_template.jinja");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("template/dynamic-attribute");
  });
});
