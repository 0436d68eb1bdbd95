import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("jinja analyzer: files detected only by Jinja syntax somewhere in them", () => {
  // an XPM image's pixel rows (isympy.xpm in Debian) hold `{{~{+!]`: not a template any loader renders
  const xpm = `/* XPM */\nstatic char *icon[] = {\n"4 2 2 1",\n"       ++,'$.)=!,~{{~{+!].$^.   ",\n"       </[>$*]',++:''++': }}.|  ",\n};\n`;

  it("a parse failure in a file no renderer takes as a template is not reported", async () => {
    const file = await scanOne(enc(xpm), "icon.xpm");
    expect(ruleIds(file)).not.toContain("template/unparseable");
    expect(file.verdict).toBe("clean");
  });

  it("the same bytes named as a template are reported as unparseable", async () => {
    const file = await scanOne(enc(xpm), "chat_template.jinja");
    expect(ruleIds(file)).toContain("template/unparseable");
  });

  it("a way out of Jinja in such a file is still reported", async () => {
    const file = await scanOne(enc("Notes\n{{ cycler.__init__.__globals__.os.popen('id').read() }}\n"), "notes.txt");
    expect(file.verdict).toBe("malicious");
  });
});
