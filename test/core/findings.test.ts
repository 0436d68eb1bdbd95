import { describe, expect, it } from "vitest";
import { FindingList as FromIndex } from "../../src/containers/index.js";
import {
  DEFAULT_FINDINGS_PER_RULE,
  type FindingInput,
  FindingList,
  FindingList as FromContainers,
} from "../../src/core/findings.js";

const finding = (ruleId: FindingInput["ruleId"], i: number, severity?: FindingInput["severity"]): FindingInput => ({
  ruleId,
  message: `occurrence ${i}`,
  ...(severity === undefined ? {} : { severity }),
});

describe("FindingList (the one capped collector)", () => {
  it("keeps the first occurrences of each rule and counts the rest in one summary", () => {
    const list = new FindingList(3);
    for (let i = 0; i < 10; i++) list.add(finding("zip/duplicate-name", i));
    list.add(finding("zip/name-mismatch", 0));
    expect(list.count("zip/duplicate-name")).toBe(10);
    expect(list.has("zip/name-mismatch")).toBe(true);
    expect(list.has("zip/encrypted-entry")).toBe(false);
    expect(list.kept.map((f) => f.message)).toEqual(["occurrence 0", "occurrence 1", "occurrence 2", "occurrence 0"]);
    expect(list.list()).toEqual([
      ...list.kept,
      {
        ruleId: "zip/duplicate-name",
        message: "7 more occurrences of zip/duplicate-name not listed (10 in total)",
        evidence: { occurrences: 10 },
      },
    ]);
  });

  it("caps each severity of a rule on its own, so that a cut never lowers a verdict", () => {
    const list = new FindingList(1);
    list.add(finding("pickle/unknown-global", 0, "low"));
    list.add(finding("pickle/unknown-global", 1, "low"));
    list.add(finding("pickle/unknown-global", 2, "critical"));
    list.add(finding("pickle/unknown-global", 3, "critical"));
    const out = list.list();
    expect(out.filter((f) => f.severity === "critical")).toHaveLength(2);
    expect(out.at(-1)).toMatchObject({ severity: "critical", evidence: { occurrences: 2 } });
  });

  it("defaults to 20 per rule and never keeps fewer than one", () => {
    const list = new FindingList();
    for (let i = 0; i < 25; i++) list.add(finding("tar/checksum-mismatch", i));
    expect(list.kept).toHaveLength(DEFAULT_FINDINGS_PER_RULE);
    const zero = new FindingList(0);
    zero.add(finding("tar/checksum-mismatch", 0));
    expect(zero.kept).toHaveLength(1);
  });

  it("is the collector the containers and the public API export", () => {
    expect(FromContainers).toBe(FindingList);
    expect(FromIndex).toBe(FindingList);
  });
});
