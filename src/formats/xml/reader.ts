/**
 * The one XML reading layer of modelgate: a strict, streaming, namespace-aware reader over `saxes`
 * with budgets. It never processes a DTD: no entity is expanded beyond the five predefined ones and
 * character references, nothing external is fetched. The DOCTYPE is read as text and classified
 * ({@link parseDoctype}) so the analyzers can report what a DTD-processing loader would do
 * (external entities, expansion bombs). Malformed documents are returned with the error after
 * everything before it was handed to the handler; exceeded budgets throw `BUDGET_EXCEEDED`.
 * @module
 */
import { SaxesParser, type SaxesTagNS } from "saxes";
import { type ByteSource, readChunks, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import { sniffXmlEncoding } from "./detect.js";
import { type DoctypeInfo, MANY_ENTITIES, parseDoctype } from "./doctype.js";
import { declarationMatches, xmlDecoder } from "./encoding.js";

export type { DoctypeInfo } from "./doctype.js";

/** Budgets of one XML document. */
export interface XmlBudgets {
  /** Most bytes read. */
  maxBytes: number;
  /** Deepest element nesting. */
  maxDepth: number;
  /** Most elements. */
  maxElements: number;
  /** Most attributes on one element. */
  maxAttributes: number;
  /** Longest attribute value (characters). */
  maxAttributeLength: number;
  /** Longest text node, comment, DOCTYPE or CDATA section (characters). */
  maxTextLength: number;
}

/** Default budgets: large PMML forests and IR graphs fit, hostile documents do not. */
export const DEFAULT_XML_BUDGETS: Readonly<XmlBudgets> = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  maxDepth: 256,
  maxElements: 20_000_000,
  maxAttributes: 1024,
  maxAttributeLength: 1 << 20,
  maxTextLength: 16 << 20,
});

/** An attribute, namespace-resolved. */
export interface XmlAttribute {
  /** Qualified name (`prefix:local`). */
  readonly name: string;
  /** Local name. */
  readonly local: string;
  /** Namespace URI (`""` for unprefixed attributes). */
  readonly uri: string;
  /** Value, predefined entities and character references resolved. */
  readonly value: string;
}

/** An element as the handler sees it. */
export interface XmlElement {
  /** Qualified name. */
  readonly name: string;
  /** Local name. */
  readonly local: string;
  /** Namespace URI (`""` when none). */
  readonly uri: string;
  /** Its attributes, in document order. */
  readonly attributes: readonly XmlAttribute[];
  /** 1 for the root element. */
  readonly depth: number;
  /** Line of its start tag's end (1-based). */
  readonly line: number;
  /** Value of the unprefixed attribute `local`. */
  attr(local: string): string | undefined;
}

/** Receives the document's elements and text. Handlers may throw a `ModelgateError` to stop. */
export interface XmlHandler {
  /** A start tag (empty elements get `open` then `close`). */
  open?(element: XmlElement): void;
  /** An end tag. */
  close?(element: XmlElement): void;
  /** Character data (text or CDATA) directly inside `parent`. */
  text?(text: string, parent: XmlElement | undefined): void;
}

/** What reading a document found. */
export interface XmlDocument {
  /** The root element (local name and namespace), when one was seen. */
  root?: { readonly local: string; readonly uri: string; readonly name: string };
  /** Elements read. */
  elements: number;
  /** The DOCTYPE, when there is one. */
  doctype?: DoctypeInfo;
  /** References to non-predefined entities, by name (how often). */
  readonly entityReferences: Map<string, number>;
  /** The first well-formedness error (reading stopped there). */
  error?: ModelgateError;
}

/** Options of {@link readXml}. */
export interface XmlReadOptions {
  /** Budgets (defaults {@link DEFAULT_XML_BUDGETS}). */
  budgets?: Partial<XmlBudgets>;
  /** Called once per chunk; may throw to stop (abort, timeout). */
  checkpoint?: () => void;
  /** Bytes per chunk (default 64 KiB). */
  chunkSize?: number;
  /** Called when the DOCTYPE has been read (before any element; also when reading later fails). */
  onDoctype?: (doctype: DoctypeInfo) => void;
  /** Called for each processing instruction (`<?target body?>`, the XML declaration excepted). */
  onProcessingInstruction?: (target: string, body: string, line: number) => void;
}

const PREDEFINED: Readonly<Record<string, string>> = Object.freeze({
  lt: "<",
  gt: ">",
  amp: "&",
  apos: "'",
  quot: '"',
});
/** Longest DOCTYPE read (characters): real documents have none, attacks need a few hundred bytes. */
const MAX_DOCTYPE = 1 << 20;
/** Bytes read first to find the encoding (byte order mark, `<?` pattern, XML declaration). */
const ENCODING_HEAD = 4096;

/** Internals of saxes the reader watches to bound memory between events (not in its typings). */
interface SaxesInternals {
  text: string;
  attribList: unknown[];
  parseEntity: (entity: string) => string;
}

/** Thrown inside the parser to stop it; carries the typed error out. */
class Stop extends Error {
  constructor(readonly error: ModelgateError) {
    super(error.message);
  }
}

function budget(message: string, name: string): ModelgateError {
  return new ModelgateError("BUDGET_EXCEEDED", message, { budget: `xml.${name}` });
}

/**
 * Reads an XML document from a source and hands its elements to `handler`.
 * @param source - the bytes (UTF-8, UTF-16, UTF-32, or the ASCII-compatible encoding the XML declaration names)
 * @param handler - receives elements and text
 * @param options - budgets and checkpoint
 * @returns what was read; `error` is the first well-formedness error
 * @throws ModelgateError `BUDGET_EXCEEDED` when a budget is exceeded, or what the handler throws
 */
export async function readXml(
  source: ByteSource,
  handler: XmlHandler,
  options: XmlReadOptions = {},
): Promise<XmlDocument> {
  const b: XmlBudgets = { ...DEFAULT_XML_BUDGETS, ...options.budgets };
  if (source.size > b.maxBytes) {
    throw new ModelgateError("BUDGET_EXCEEDED", `XML document of ${source.size} bytes (budget ${b.maxBytes})`, {
      budget: "xml.maxBytes",
    });
  }
  const doc: XmlDocument = { elements: 0, entityReferences: new Map() };
  const parser = new SaxesParser({ xmlns: true, position: true });
  const internals = parser as unknown as SaxesInternals;
  const stack: XmlElement[] = [];
  // Entities: the five predefined ones and character references only; everything else is recorded
  // and left unexpanded (saxes would otherwise fail, or resolve names inherited from Object).
  const charRef = internals.parseEntity.bind(parser);
  internals.parseEntity = (entity: string): string => {
    if (entity.startsWith("#")) return charRef(entity);
    if (Object.hasOwn(PREDEFINED, entity)) return PREDEFINED[entity] ?? "";
    const declared = doc.doctype?.entities.some((e) => !e.parameter && e.name === entity) === true;
    const external = doc.doctype?.externalSubset !== undefined;
    if (!declared && !external) {
      throw new Stop(new ModelgateError("MALFORMED", `reference to undeclared entity &${entity.slice(0, 100)};`, {}));
    }
    if (doc.entityReferences.size < 1000 || doc.entityReferences.has(entity)) {
      doc.entityReferences.set(entity, (doc.entityReferences.get(entity) ?? 0) + 1);
    }
    return "";
  };
  parser.on("error", (error) => {
    throw new Stop(new ModelgateError("MALFORMED", error.message, { cause: error }));
  });
  const encoding = sniffXmlEncoding(await readExact(source, 0, Math.min(source.size, ENCODING_HEAD)));
  if ("error" in encoding) {
    doc.error = new ModelgateError("MALFORMED", encoding.error, { offset: 0 });
    return doc;
  }
  parser.on("xmldecl", (decl) => {
    // A mark or a UTF-16/32 pattern fixed the encoding: the document is read as such whatever the
    // declaration says (a loader that disagrees fails; one that agrees must be analysed).
    if (decl.encoding !== undefined && !encoding.fixed && !declarationMatches(decl.encoding, encoding)) {
      throw new Stop(
        new ModelgateError("MALFORMED", `unsupported declared encoding ${JSON.stringify(decl.encoding.slice(0, 40))}`),
      );
    }
  });
  parser.on("processinginstruction", (pi) => {
    options.onProcessingInstruction?.(pi.target, pi.body, parser.line);
  });
  parser.on("doctype", (text) => {
    if (text.length > MAX_DOCTYPE) throw new Stop(budget(`DOCTYPE of ${text.length} characters`, "maxDoctype"));
    doc.doctype = parseDoctype(text);
    options.onDoctype?.(doc.doctype);
  });
  parser.on("opentag", (tag: SaxesTagNS) => {
    if (++doc.elements > b.maxElements) throw new Stop(budget(`more than ${b.maxElements} elements`, "maxElements"));
    if (stack.length + 1 > b.maxDepth) {
      throw new Stop(budget(`elements nested deeper than ${b.maxDepth}`, "maxDepth"));
    }
    const attributes: XmlAttribute[] = [];
    for (const a of Object.values(tag.attributes)) {
      if (a.value.length > b.maxAttributeLength) {
        throw new Stop(
          budget(`attribute ${a.name.slice(0, 100)} of ${a.value.length} characters`, "maxAttributeLength"),
        );
      }
      if (a.prefix === "xmlns" || a.name === "xmlns") continue;
      attributes.push({ name: a.name, local: a.local, uri: a.uri, value: a.value });
    }
    if (attributes.length > b.maxAttributes) {
      throw new Stop(budget(`${attributes.length} attributes on one element`, "maxAttributes"));
    }
    const element: XmlElement = {
      name: tag.name,
      local: tag.local,
      uri: tag.uri,
      attributes,
      depth: stack.length + 1,
      line: parser.line,
      attr: (local) => attributes.find((a) => a.local === local && a.uri === "")?.value,
    };
    if (doc.root === undefined) doc.root = { local: tag.local, uri: tag.uri, name: tag.name };
    stack.push(element);
    handler.open?.(element);
  });
  parser.on("closetag", () => {
    const element = stack.pop();
    if (element !== undefined) handler.close?.(element);
  });
  const onText = (text: string) => {
    if (text.length > b.maxTextLength) throw new Stop(budget(`text of ${text.length} characters`, "maxTextLength"));
    handler.text?.(text, stack.at(-1));
  };
  parser.on("text", onText);
  parser.on("cdata", onText);

  const decoder = xmlDecoder(encoding);
  const notDecodable = `the document is not ${encoding.name === "latin1" ? "ISO-8859-1" : encoding.name.toUpperCase()}`;
  const watch = () => {
    if (internals.text.length > b.maxTextLength) {
      throw budget(`text, attribute or declaration longer than ${b.maxTextLength} characters`, "maxTextLength");
    }
    if (internals.attribList.length > b.maxAttributes) {
      throw budget(`more than ${b.maxAttributes} attributes on one element`, "maxAttributes");
    }
  };
  let offset = 0;
  try {
    const chunks = readChunks(source, { start: encoding.bom, chunkSize: options.chunkSize ?? 64 * 1024 });
    offset = encoding.bom;
    for await (const chunk of chunks) {
      options.checkpoint?.();
      let text: string;
      try {
        text = decoder.decode(chunk, true);
      } catch {
        throw new Stop(new ModelgateError("MALFORMED", notDecodable, { offset }));
      }
      offset += chunk.length;
      parser.write(text);
      watch();
    }
    try {
      parser.write(decoder.decode(new Uint8Array(0), false));
    } catch (error) {
      if (error instanceof Stop) throw error;
      throw new Stop(new ModelgateError("MALFORMED", notDecodable, { offset }));
    }
    parser.close();
  } catch (error) {
    const e = error instanceof Stop ? error.error : error;
    if (e instanceof ModelgateError && e.code === "MALFORMED") {
      doc.error = e;
      return doc;
    }
    throw e;
  }
  return doc;
}

/**
 * The findings a DOCTYPE calls for (rules `xml/*`).
 * @param d - the DOCTYPE
 */
export function doctypeFindings(d: DoctypeInfo): FindingInput[] {
  const findings: FindingInput[] = [];
  const external = d.entities.filter((e) => e.external !== undefined);
  const parameter = d.entities.filter((e) => e.parameter);
  if (d.externalSubset !== undefined || external.length > 0 || parameter.length > 0 || d.parameterReferences.length) {
    const first = external[0];
    findings.push({
      ruleId: "xml/external-entity",
      message:
        d.externalSubset !== undefined
          ? `the DOCTYPE loads an external DTD ${JSON.stringify(d.externalSubset.slice(0, 200))}`
          : first !== undefined
            ? `entity ${first.name.slice(0, 100)} is external: ${JSON.stringify((first.external ?? "").slice(0, 200))}; a loader that resolves it reads that resource`
            : `the DOCTYPE declares parameter entities (${parameter
                .map((e) => e.name)
                .concat(d.parameterReferences)
                .slice(0, 5)
                .join(", ")
                .slice(0, 200)})`,
      evidence: {
        root: d.root.slice(0, 100),
        ...(d.externalSubset === undefined ? {} : { externalDtd: d.externalSubset.slice(0, 300) }),
        ...(first === undefined
          ? {}
          : { entity: first.name.slice(0, 100), systemId: (first.external ?? "").slice(0, 300) }),
        externalEntities: external.length,
        parameterEntities: parameter.length,
      },
    });
  }
  const general = d.entities.filter((e) => !e.parameter && e.external === undefined);
  const nested = general.filter((e) => e.references.length > 0);
  if (nested.length > 0 || general.length > MANY_ENTITIES) {
    const sample = nested[0] ?? general[0];
    findings.push({
      ruleId: "xml/entity-expansion",
      message:
        nested.length > 0
          ? `${nested.length} entities reference other entities (${sample?.name.slice(0, 100)} → ${sample?.references.slice(0, 3).join(", ").slice(0, 200)}): expanding them grows exponentially`
          : `${general.length} entity declarations`,
      evidence: {
        root: d.root.slice(0, 100),
        entities: general.length,
        nested: nested.length,
      },
    });
  }
  if (findings.length === 0) {
    findings.push({
      ruleId: "xml/dtd",
      message: `the document has a DOCTYPE ${d.root.slice(0, 100)}${d.internalSubset ? ` with an internal subset (${general.length} entities, ${d.otherDeclarations} other declarations)` : ""}; a DTD-processing loader may see content modelgate does not`,
      evidence: {
        root: d.root.slice(0, 100),
        internalSubset: d.internalSubset,
        entities: general.length,
        attributeDefaults: d.attributeDefaults,
      },
    });
  }
  return findings;
}

/**
 * The `xml/malformed` finding of a document that broke, if it did.
 * @param doc - what {@link readXml} returned
 */
export function malformedFinding(doc: XmlDocument): FindingInput | undefined {
  if (doc.error === undefined) return undefined;
  return {
    ruleId: "xml/malformed",
    message: `the XML is not well-formed: ${doc.error.message.slice(0, 300)}`,
    ...(doc.error.offset === undefined ? {} : { offset: doc.error.offset }),
    evidence: { code: doc.error.code },
  };
}

/** What {@link readXmlDocument} needs of an analysis context. */
export interface XmlAnalysisContext {
  readonly source: ByteSource;
  report(finding: FindingInput): void;
  checkpoint(): void;
}

/**
 * Reads a document for an analyzer: hands its elements to `handler`, then reports the DOCTYPE
 * findings and, when the document broke, `xml/malformed`.
 * @param ctx - the analysis context
 * @param handler - receives elements and text
 * @param budgets - budgets beyond the defaults
 */
export async function readXmlDocument(
  ctx: XmlAnalysisContext,
  handler: XmlHandler,
  budgets?: Partial<XmlBudgets>,
): Promise<XmlDocument> {
  const doc = await readXml(ctx.source, handler, {
    checkpoint: () => ctx.checkpoint(),
    onDoctype: (doctype) => {
      for (const finding of doctypeFindings(doctype)) ctx.report(finding);
    },
    ...(budgets === undefined ? {} : { budgets }),
  });
  const malformed = malformedFinding(doc);
  if (malformed !== undefined) ctx.report(malformed);
  return doc;
}
