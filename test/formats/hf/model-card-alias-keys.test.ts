/**
 * A model card's `prior` key written as an alias (`*p : [repo]`), as PyYAML's safe_load reads it,
 * is the connected pipeline diffusers loads; a root key that cannot be read leaves the card's
 * metadata unread (never a quiet nothing).
 */
import { describe, expect, it } from "vitest";
import { connectedPipes } from "../../../src/formats/hf/model-card.js";

const kinds = (card: string) => connectedPipes(card, false).map((p) => (p.kind === "repo" ? p.repo : p.kind));

describe("model card alias keys", () => {
  it("a prior key written as an alias is read", () => {
    expect(kinds("---\nk: &p prior\n*p : [attacker/x]\n---\n")).toContain("attacker/x");
    expect(kinds("---\nbase:\n  &p prior : [a/b]\n*p : [attacker/y]\n---\n")).toContain("attacker/y");
  });

  it("a root key that cannot be read is unread", () => {
    expect(kinds("---\nk: &c [prior]\n*c : [attacker/x]\n---\n")).toContain("unread");
  });
});
