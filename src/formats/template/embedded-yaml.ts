/**
 * The YAML side of the embedded-template search (`./embedded.ts`): reads composed YAML documents
 * (failsafe schema, every scalar a string) for it. Aliases are resolved to the node their anchor
 * last named before them, as PyYAML does, from the anchors met while walking in document order
 * (no alias is expanded: the search walks an anchored collection again only under a template key).
 * @module
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node } from "yaml";
import type { FindingInput } from "../../core/findings.js";
import { type EmbeddedBudgets, EmbeddedTemplates, type TreeReader, type TreeVisit } from "./embedded.js";

/** A reader of one YAML document; anchors are recorded as their nodes are first visited. */
function yamlReader(): TreeReader<unknown> {
  const anchors = new Map<string, unknown>();
  return {
    visit(node: unknown, replay: boolean): TreeVisit<unknown> {
      if (isAlias(node)) return { kind: "alias", target: anchors.get(node.source) };
      const anchor = (node as Node | null | undefined)?.anchor;
      if (!replay && typeof anchor === "string" && anchor !== "") anchors.set(anchor, node);
      if (isScalar(node)) {
        const v = node.value;
        return typeof v === "string" ? { kind: "text", text: v } : { kind: "other" };
      }
      if (isMap(node)) {
        return {
          kind: "collection",
          entries: node.items.map((pair) => {
            const key = isScalar(pair.key) && typeof pair.key.value === "string" ? pair.key.value : undefined;
            return [key, pair.value] as const;
          }),
        };
      }
      if (isSeq(node)) return { kind: "collection", entries: node.items.entries() };
      return { kind: "other" };
    },
  };
}

/**
 * Finds and analyses the templates of a YAML file's documents (one budget for them all).
 * @param report - the context's `report`
 * @param docs - the composed documents
 * @param checkpoint - abort/timeout check
 * @param budgets - budgets (defaults: `EMBEDDED_BUDGETS`)
 */
export async function reportYamlTemplates(
  report: (finding: FindingInput) => void,
  docs: readonly Document.Parsed[],
  checkpoint?: () => void,
  budgets?: EmbeddedBudgets,
): Promise<void> {
  const templates = new EmbeddedTemplates(undefined, budgets);
  for (const doc of docs) templates.collect<unknown>(doc.contents, yamlReader(), checkpoint);
  await templates.report(report, { checkpoint });
}
