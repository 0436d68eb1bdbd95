import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { runCli } from "../../src/cli/run.js";
import { didYouMean, editDistance, optionsOf } from "../../src/cli/suggest.js";
import { fakeIO } from "../helpers/cli.js";

describe("edit distance and suggestions", () => {
  it("counts insertions, deletions, substitutions and neighbour swaps as one edit each", () => {
    expect(editDistance("scan", "scan")).toBe(0);
    expect(editDistance("scan", "scn")).toBe(1);
    expect(editDistance("scan", "sacn")).toBe(1);
    expect(editDistance("scan", "scam")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("suggests a close name, the only name a prefix names, and nothing for a stranger", () => {
    const commands = Object.keys(COMMANDS);
    expect(didYouMean("scna", commands)).toBe("scan");
    expect(didYouMean("verfy", commands)).toBe("verify");
    expect(didYouMean("rule", commands)).toBe("rules");
    expect(didYouMean("chache", commands)).toBe("cache");
    expect(didYouMean("deploy", commands)).toBeUndefined();
    expect(didYouMean("--form", ["--format", "--fail-on"])).toBe("--format");
    expect(didYouMean("x".repeat(10_000), commands)).toBeUndefined();
  });

  it("reads the long options a usage text names", () => {
    expect(optionsOf("  --format FORMAT  text\n  --no-color, --color  x\n  see --format again; a-b--c")).toEqual([
      "--format",
      "--no-color",
      "--color",
    ]);
  });
});

describe("did-you-mean on the command line", () => {
  it("an unknown command: one line on stderr with the closest command, exit 2", async () => {
    const io = fakeIO();
    expect(await runCli(["scna", "samples/"], io)).toBe(2);
    expect(io.out).toBe("");
    expect(io.err).toBe(`modelgate: unknown command "scna" (did you mean scan?) (see 'modelgate --help')\n`);
  });

  it("an unknown top-level option suggests --version", async () => {
    const io = fakeIO();
    expect(await runCli(["--verison"], io)).toBe(2);
    expect(io.err).toContain("unknown option");
    expect(io.err).toContain("(did you mean --version?)");
  });

  it("an unknown option of a command suggests that command's option, exit 2, one line on stderr", async () => {
    for (const [argv, hint] of [
      [["scan", "x", "--fromat", "json"], "--format"],
      [["scan", "x", "--fail-onn=high"], "--fail-on"],
      [["scan", "x", "--verbos"], "--verbose"],
      [["verify", "x", "--public-kye", "k.pem"], "--public-key"],
      [["rules", "--severty", "high"], "--severity"],
      [["cache", "stats", "--cachedir", "d"], "--cache-dir"],
      [["init", "--forse"], "--force"],
    ] as const) {
      const io = fakeIO();
      expect(await runCli(argv, io), argv.join(" ")).toBe(2);
      expect(io.out).toBe("");
      expect(io.err.trim().split("\n")).toHaveLength(1);
      expect(io.err).toContain(`(did you mean ${hint}?)`);
    }
  });

  it("an unknown option with no close match says where options are listed and how to pass a dash target", async () => {
    const io = fakeIO();
    expect(await runCli(["scan", "--zzzzzzzz"], io)).toBe(2);
    expect(io.err).toBe(
      "modelgate scan: unknown option --zzzzzzzz (see 'modelgate scan --help'; a target that starts with '-' goes after '--')\n",
    );
  });
});
