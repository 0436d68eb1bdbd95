#!/usr/bin/env node
// The API report: every entry point of package.json `exports` (the root facade and each subpath),
// each export with its kind and declared signature, read from the sources with the TypeScript
// compiler API. `npm run api` writes api/modelgate.api.md; `--check` exits 1 when the committed
// file differs; `--stdout` prints the report instead of writing it. test/api/api-report.test.ts fails on a difference, so a change of the public
// surface shows in review.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the report is committed, relative to the repository. */
export const REPORT_PATH = "api/modelgate.api.md";

/**
 * The package's entry points, in `exports` order: the specifier a consumer imports and the
 * source file its `types` condition is built from.
 * @param root - repository root
 * @returns {{ specifier: string, source: string }[]}
 */
export function entryPoints(root = ROOT) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const out = [];
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (typeof target !== "object" || typeof target.types !== "string") continue;
    const source = target.types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts");
    out.push({ specifier: key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`, source });
  }
  return out;
}

const FORMAT =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.WriteArrowStyleSignature;
const SIGNATURE = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** A node as declared, on one line, without comments. */
const text = (node) =>
  printer
    .printNode(ts.EmitHint.Unspecified, node, node.getSourceFile())
    .replace(/\s+/g, " ")
    .replace(/([([<]) /g, "$1")
    .replace(/ ([)\]>])/g, "$1")
    .replace(/;? }/g, " }");

/** A property name as it must be written (`"bom-ref"`). */
const propertyName = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

/** Zod schema types are shown by kind only: their output types are the interfaces and aliases listed. */
function zodKind(type) {
  const name = type.getSymbol()?.getName() ?? type.aliasSymbol?.getName();
  return name !== undefined && /^Zod[A-Z]/.test(name) && type.getProperty("_zod") !== undefined ? name : undefined;
}

const isHidden = (decl) => {
  const flags = ts.getCombinedModifierFlags(decl);
  return (
    (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 ||
    (decl.name !== undefined && ts.isPrivateIdentifier(decl.name))
  );
};

/** Whether a member symbol is declared readonly. */
const isReadonly = (symbol) =>
  (symbol.declarations ?? []).some((d) => (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Readonly) !== 0) ||
  ((symbol.declarations ?? []).some((d) => ts.isGetAccessorDeclaration(d)) &&
    !(symbol.declarations ?? []).some((d) => ts.isSetAccessorDeclaration(d)));

function typeParameters(decl) {
  const params = decl?.typeParameters;
  return params === undefined || params.length === 0 ? "" : `<${params.map(text).join(", ")}>`;
}

function heritage(decl) {
  const clauses = decl?.heritageClauses ?? [];
  return clauses.map((c) => ` ${text(c).trim()}`).join("");
}

/** Members declared only outside the project (`Error`'s `message`, `stack` ...) are not listed. */
let isForeign = () => false;
const foreign = (symbol) => (symbol.declarations ?? []).every((d) => isForeign(d.getSourceFile()));

/** One member of an interface or class, as a declaration line. */
function memberLine(checker, symbol, at) {
  const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
  const optional = (symbol.flags & ts.SymbolFlags.Optional) !== 0 ? "?" : "";
  const name = propertyName(symbol.getName());
  if (symbol.flags & ts.SymbolFlags.Method) {
    const type = checker.getTypeOfSymbolAtLocation(symbol, at);
    return checker
      .getSignaturesOfType(type, ts.SignatureKind.Call)
      .map((sig) => `${name}${optional}${checker.signatureToString(sig, at, SIGNATURE)};`);
  }
  const declared = decl !== undefined && "type" in decl && decl.type !== undefined ? text(decl.type) : undefined;
  const type = declared ?? checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, at), at, FORMAT);
  return [`${isReadonly(symbol) ? "readonly " : ""}${name}${optional}: ${type};`];
}

/** The declaration lines of one exported symbol, and its kind. */
function describe(checker, name, symbol) {
  const decl = symbol.declarations?.[0];
  const at = decl ?? symbol.valueDeclaration;
  const f = symbol.flags;
  if (f & ts.SymbolFlags.Class) {
    const instance = checker.getDeclaredTypeOfSymbol(symbol);
    const statics = checker.getTypeOfSymbolAtLocation(symbol, at);
    const lines = [`class ${name}${typeParameters(decl)}${heritage(decl)} {`];
    for (const sig of checker.getSignaturesOfType(statics, ts.SignatureKind.Construct)) {
      if (sig.declaration !== undefined && isHidden(sig.declaration)) continue;
      lines.push(`  constructor${checker.signatureToString(sig, at, SIGNATURE).replace(/: [^:]+$/, "")};`);
    }
    for (const prop of checker.getPropertiesOfType(statics)) {
      if (prop.getName() === "prototype" || (prop.declarations ?? []).some(isHidden) || foreign(prop)) continue;
      for (const line of memberLine(checker, prop, at)) lines.push(`  static ${line}`);
    }
    for (const prop of checker.getPropertiesOfType(instance)) {
      if (prop.getName().startsWith("__#") || (prop.declarations ?? []).some(isHidden) || foreign(prop)) continue;
      for (const line of memberLine(checker, prop, at)) lines.push(`  ${line}`);
    }
    lines.push("}");
    return { kind: "class", lines };
  }
  if (f & ts.SymbolFlags.Interface) {
    const declarations = symbol.declarations.filter(ts.isInterfaceDeclaration);
    const home = declarations[0].getSourceFile();
    const lines = [`interface ${name}${typeParameters(declarations[0])}${heritage(declarations[0])} {`];
    // Members merged in from other files (the registries filled by each format module) are not
    // part of this interface's shape as an API: they are listed where they are declared.
    for (const prop of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
      const own = (prop.declarations ?? []).some((d) => d.getSourceFile() === home);
      const inherited = (prop.declarations ?? []).some((d) => !declarations.includes(d.parent));
      if (!own && !inherited) continue;
      for (const line of memberLine(checker, prop, at)) lines.push(`  ${line}`);
    }
    lines.push("}");
    if (declarations.length > 1) lines.push("// extended by declaration merging (each format module adds its entries)");
    return { kind: "interface", lines };
  }
  if (f & ts.SymbolFlags.TypeAlias) {
    const alias = symbol.declarations.find(ts.isTypeAliasDeclaration);
    const lines = [`type ${name}${typeParameters(alias)} = ${text(alias.type)};`];
    // a type inferred from a zod schema: its shape, which the alias's text does not show
    if (/\bz\.(infer|output|input)</.test(lines[0])) {
      const flags = FORMAT | ts.TypeFormatFlags.InTypeAlias;
      const shape = checker.typeToString(checker.getDeclaredTypeOfSymbol(symbol), alias, flags);
      lines.push("// which is", `type ${name}${typeParameters(alias)} = ${shape};`);
    }
    return { kind: "type", lines };
  }
  if (f & ts.SymbolFlags.Function) {
    const type = checker.getTypeOfSymbolAtLocation(symbol, at);
    const lines = checker
      .getSignaturesOfType(type, ts.SignatureKind.Call)
      .map((sig) => `function ${name}${checker.signatureToString(sig, at, SIGNATURE)};`);
    return { kind: "function", lines };
  }
  if (f & ts.SymbolFlags.Variable) {
    const v = symbol.valueDeclaration;
    const keyword = ts.getCombinedNodeFlags(v) & ts.NodeFlags.Const ? "const" : "let";
    const inferred = checker.getTypeOfSymbolAtLocation(symbol, v);
    const zod = zodKind(inferred);
    const type =
      v.type !== undefined
        ? text(v.type)
        : zod !== undefined
          ? `z.${zod}; // type arguments elided`
          : checker.typeToString(inferred, v, FORMAT);
    return { kind: keyword, lines: [`${keyword} ${name}: ${type}${type.includes("; //") ? "" : ";"}`] };
  }
  return { kind: "other", lines: [`${name}: ${ts.SymbolFlags[f] ?? f}`] };
}

/**
 * The API report's text.
 * @param root - repository root
 */
export function generateApiReport(root = ROOT) {
  const entries = entryPoints(root);
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  const program = ts.createProgram(
    entries.map((e) => join(root, e.source)),
    { ...config.options, noEmit: true },
  );
  const checker = program.getTypeChecker();
  isForeign = (file) =>
    program.isSourceFileDefaultLibrary(file) ||
    program.isSourceFileFromExternalLibrary(file) ||
    file.fileName.includes("/node_modules/");
  const out = [
    "# modelgate API report",
    "",
    "<!-- Generated by `npm run api` (scripts/api-report.mjs); do not edit. -->",
    "",
    "Every entry point of `package.json` `exports`, each export with its kind and declared signature.",
    "`test/api/api-report.test.ts` fails when this file differs from what the sources declare: run",
    "`npm run api` and review the difference. A symbol is shown in full under the first entry point",
    "that exports it; later entry points refer to it. Zod schemas are shown by kind: their output types",
    "are the interfaces and aliases listed (`test/report/types.test.ts` keeps the report's equal).",
    "",
  ];
  const shown = new Map();
  for (const { specifier, source } of entries) {
    const file = program.getSourceFile(join(root, source));
    if (file === undefined) throw new Error(`${source}: not found`);
    const module = checker.getSymbolAtLocation(file);
    const exports = module === undefined ? [] : checker.getExportsOfModule(module);
    const items = exports
      .map((e) => {
        const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        return { name: e.getName(), target, runtime: (target.flags & ts.SymbolFlags.Value) !== 0 };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const runtime = items.filter((i) => i.runtime).length;
    out.push(
      `## \`${specifier}\``,
      "",
      `\`${relative(root, join(root, source))}\`: ${items.length} exports (${runtime} runtime, ${items.length - runtime} types only).`,
      "",
    );
    const again = [];
    for (const { name, target } of items) {
      const { kind, lines } = describe(checker, name, target);
      const seen = shown.get(target);
      if (seen !== undefined) {
        again.push(`- \`${name}\` (${kind}), shown under \`${seen}\``);
        continue;
      }
      shown.set(target, specifier);
      out.push(`### \`${name}\` (${kind})`, "", "```ts", ...lines, "```", "");
    }
    if (again.length > 0) out.push(`Also exported by \`${specifier}\`:`, "", ...again, "");
  }
  // formatted as `biome check` wants it (the code blocks too), so that the committed file passes it
  return execFileSync(join(root, "node_modules", ".bin", "biome"), ["format", `--stdin-file-path=${REPORT_PATH}`], {
    cwd: root,
    input: `${out.join("\n").trimEnd()}\n`,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = generateApiReport();
  const path = join(ROOT, REPORT_PATH);
  if (process.argv.includes("--stdout")) {
    process.stdout.write(report);
  } else if (process.argv.includes("--check")) {
    let committed = "";
    try {
      committed = readFileSync(path, "utf8");
    } catch {}
    if (committed !== report) {
      process.stderr.write(`${REPORT_PATH} is out of date: run \`npm run api\` and review the difference\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(path, report);
    process.stderr.write(`api: wrote ${REPORT_PATH}\n`);
  }
}
