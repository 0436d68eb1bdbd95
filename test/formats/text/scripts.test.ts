/**
 * Scripts are detected by name, Unix and Windows alike (cmd.exe, PowerShell and the Windows
 * Script Host run them by extension), whatever their content or encoding; `.js` stays a web asset.
 * Samples: samples/detect-bypass/scripts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectText } from "../../../src/formats/text/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "detect-bypass", "scripts", p)));
const detect = (head: Uint8Array, name: string) => detectText({ head, tail: head, size: head.length, name });
const bytes = (s: string) => new TextEncoder().encode(s);

describe("script names", () => {
  it.each([
    "run.bat",
    "RUN.BAT",
    "setup.cmd",
    "x.ps1",
    "m.psm1",
    "x.vbs",
    "x.vbe",
    "x.jse",
    "x.wsf",
    "x.hta",
    "x.zsh",
    "x.command",
    "x.sh",
    "x.bash",
  ])("%s is a script", (name) => {
    expect(detect(bytes("echo hi\n"), name)?.format).toBe("shell");
  });

  it("decide over the content and its encoding", () => {
    expect(detect(bytes('{"a": 1}\ncalc.exe\n'), "run.bat")?.format).toBe("shell");
    expect(detect(bytes('{"a": 1}\nid\n'), "x.sh")?.format).toBe("shell");
    expect(detect(Uint8Array.from([0x65, 0x63, 0x68, 0x6f, 0x20, 0xe9, 0x0d, 0x0a]), "run.bat")?.format).toBe("shell");
    expect(detect(new Uint8Array(Buffer.from("\ufeffWrite-Output 1\r\n", "utf16le")), "x.ps1")?.reason).toContain(
      "Windows script",
    );
  });

  it("leave .js, .json and plain text alone", () => {
    expect(detect(bytes("export const a = 1;\n"), "app.js")?.format).toBe("text");
    expect(detect(bytes('{"a": 1}'), "config.json")?.format).toBe("json");
    expect(detect(bytes("@echo off\n"), "notes.txt")?.format).toBe("text");
  });
});

describe("script scans", () => {
  it.each(["run.bat", "setup.cmd", "install.ps1", "x.vbs", "json-first.sh"])("%s is a shell script", async (name) => {
    const file = await scanOne(sample(name), name);
    expect(file.format).toBe("shell");
    expect(ruleIds(file)).toContain("repo/shell-script");
    expect(file.verdict).not.toBe("clean");
  });

  it("a web asset .js stays clean", async () => {
    expect((await scanOne(sample("app.js"), "app.js")).verdict).toBe("clean");
  });
});
