// README.md shows the summary that `npx modelgate scan samples/` opens with, as a user sees it in a
// 100-column terminal. This test renders it afresh and compares (the scan's duration aside), so the
// README cannot drift from what the CLI prints. When samples or the report change on purpose,
// `npm run readme:report` rewrites the block (this test with MODELGATE_README_UPDATE=1).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { fakeIO } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/scan.js";

const README = join(REPO_ROOT, "README.md");
const BEGIN = "<!-- readme:report begin: `npm run readme:report` rewrites this block -->";
const END = "<!-- readme:report end -->";
const UPDATE = process.env.MODELGATE_README_UPDATE === "1";

/** The block between the markers: the report indented by four spaces (a Markdown code block). */
function readmeBlock(readme: string): { start: number; end: number; report: string } {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  expect(start, `README.md lacks ${BEGIN}`).toBeGreaterThan(0);
  expect(end, `README.md lacks ${END}`).toBeGreaterThan(start);
  const body = readme.slice(start + BEGIN.length, end);
  const report = body
    .replace(/^\n+|\n+$/g, "")
    .split("\n")
    .map((l) => (l === "" ? "" : l.replace(/^ {4}/, "")))
    .join("\n");
  return { start, end, report };
}

/** The duration in the header line changes run to run; everything else must match. */
const normalise = (text: string): string =>
  text.replace(/^(modelgate \S+ {2}scanned .*), [\d.]+ m?s\)$/m, "$1, <time>)");

describe("README.md's sample report", () => {
  it("is the summary `npx modelgate scan samples/` prints today, exit code 2 explained", async () => {
    const io = fakeIO({ cwd: REPO_ROOT, env: { COLUMNS: "100", NO_COLOR: "1" }, stdoutIsTTY: true });
    // The summary is what --quiet prints and what the default report opens with.
    const code = await runCli(["scan", "samples/", "--quiet"], io);
    expect(code).toBe(2);
    const fresh = io.out.replace(/\n+$/, "");
    const readme = readFileSync(README, "utf8");
    const block = readmeBlock(readme);
    if (UPDATE) {
      const indented = fresh
        .split("\n")
        .map((l) => (l === "" ? "" : `    ${l}`))
        .join("\n");
      writeFileSync(README, `${readme.slice(0, block.start)}${BEGIN}\n\n${indented}\n\n${readme.slice(block.end)}`);
      return;
    }
    expect(normalise(block.report), "README.md's report is stale: run npm run readme:report").toBe(normalise(fresh));
    // The exit code is explained next to the first command.
    const intro = readme.slice(0, block.start);
    expect(intro).toMatch(/exits with code 2/);
    expect(intro).toContain("npx modelgate scan samples/");
  }, 300_000);
});
