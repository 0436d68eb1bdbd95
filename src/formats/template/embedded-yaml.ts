/**
 * The YAML side of the embedded-template search (`./embedded.ts`): reads composed YAML documents
 * (failsafe schema, every scalar a string) for it. Aliases are resolved to the node their anchor
 * last named before them, as PyYAML does, from the anchors met while walking in document order
 * (no alias is expanded: the search walks an anchored collection again only under a template key).
 * @module
 */
import { type Document, isAlias, isMap, isNode, isScalar, isSeq, type Node, visit } from "yaml";
import type { FindingInput } from "../../core/findings.js";
import { type EmbeddedBudgets, EmbeddedTemplates, type TreeReader, type TreeVisit } from "./embedded.js";

/**
 * What each alias of a document refers to: the node its anchor last named before it, in document
 * order (keys before values), as PyYAML composes. One walk of the document, whatever the number
 * of aliases (the library's `Alias.resolve` walks the document again for every alias).
 */
function aliasTargets(doc: Document.Parsed): Map<unknown, unknown> {
  const anchors = new Map<string, unknown>();
  const targets = new Map<unknown, unknown>();
  visit(doc, (_key, node) => {
    if (isAlias(node)) targets.set(node, anchors.get(node.source));
    else if (isNode(node) && typeof node.anchor === "string" && node.anchor !== "") anchors.set(node.anchor, node);
  });
  return targets;
}

/** A map key as PyYAML constructs it: a string scalar, or an alias of one (`*k: ...` after `&k chat_template`). */
function keyOf(key: unknown, targets: ReadonlyMap<unknown, unknown>): string | undefined {
  const node = isAlias(key) ? targets.get(key) : key;
  return isScalar(node) && typeof node.value === "string" ? node.value : undefined;
}

/** A reader of one YAML document; anchors are recorded as their nodes are first visited. */
function yamlReader(doc: Document.Parsed): TreeReader<unknown> {
  const anchors = new Map<string, unknown>();
  const targets = aliasTargets(doc);
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
            return [keyOf(pair.key, targets), pair.value] as const;
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
  for (const doc of docs) templates.collect<unknown>(doc.contents, yamlReader(doc), checkpoint);
  await templates.report(report, { checkpoint });
}
