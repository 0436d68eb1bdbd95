/**
 * Java class tags in the YAML files TorchServe reads. Its frontend reads the archive's model
 * config (`model-config.yaml`, the manifest's `configFile`) with SnakeYAML
 * (`ArchiveUtils.readYamlFile`); SnakeYAML 1.x's `Constructor` builds any Java class a global tag
 * names (`!!javax.script.ScriptEngineManager [...]`, `!<tag:yaml.org,2002:java.net.URL>`, or the
 * same through a `%TAG` handle or %-escapes): CVE-2022-1471, code execution when the model is
 * registered, before any Python runs. The tags are taken from the YAML format's lexical pass (as
 * written and resolved), so every spelling a loader resolves is seen.
 * @module
 */
import type { FindingInput } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { lexYaml, YAML_BUDGETS } from "../yaml/parse.js";

/** The YAML files TorchServe's frontend may read from a model directory. */
const YAML_FILE = /\.ya?ml$/i;

/** Files of one model directory checked; the others are counted in one finding. */
export const MAX_YAML_FILES = 32;
/** Largest YAML file checked (SnakeYAML reads any size; larger ones are reported unchecked). */
export const MAX_YAML_BYTES = 4 << 20;
/** Findings per file. */
const MAX_PER_FILE = 8;

const CORE_PREFIX = "tag:yaml.org,2002:";
/** A Java class name: dotted identifiers (nested classes with `$`). */
const JAVA_CLASS = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;

/** Classes of the published SnakeYAML gadget chains (construction alone loads code or does I/O). */
const GADGETS: ReadonlySet<string> = new Set([
  "javax.script.ScriptEngineManager",
  "java.net.URLClassLoader",
  "com.sun.rowset.JdbcRowSetImpl",
  "javax.naming.InitialContext",
  "java.lang.ProcessBuilder",
  "java.lang.Runtime",
  "org.springframework.context.support.ClassPathXmlApplicationContext",
  "org.springframework.context.support.FileSystemXmlApplicationContext",
  "org.springframework.beans.factory.config.PropertyPathFactoryBean",
  "org.apache.commons.configuration.ConfigurationMap",
  "org.apache.commons.configuration2.ConfigurationMap",
  "org.apache.xbean.naming.context.ContextUtil$ReadOnlyBinding",
  "org.apache.xbean.propertyeditor.JndiConverter",
  "com.mchange.v2.c3p0.WrapperConnectionPoolDataSource",
  "com.mchange.v2.c3p0.JndiRefForwardingDataSource",
  "com.zaxxer.hikari.HikariConfig",
  "com.zaxxer.hikari.HikariDataSource",
  "ch.qos.logback.core.db.JNDIConnectionSource",
  "org.apache.commons.dbcp.BasicDataSource",
  "org.apache.commons.dbcp2.BasicDataSource",
  "org.apache.tomcat.dbcp.dbcp2.BasicDataSource",
  "org.apache.ibatis.datasource.jndi.JndiDataSourceFactory",
  "groovy.lang.GroovyShell",
  "groovy.lang.GroovyClassLoader",
  "bsh.Interpreter",
  "jdk.nashorn.api.scripting.NashornScriptEngineFactory",
  "sun.rmi.server.UnicastRef",
  "java.rmi.registry.LocateRegistry",
]);

/** Package prefixes whose classes construct code loaders, interpreters or JNDI lookups. */
const GADGET_PREFIXES = ["javax.script.", "javax.naming.", "com.sun.jndi.", "jdk.nashorn.", "org.codehaus.groovy."];

/** Whether a Java class is one of the known gadget classes. */
export function isJavaGadget(name: string): boolean {
  return GADGETS.has(name) || GADGET_PREFIXES.some((p) => name.startsWith(p));
}

/** Whether a model-directory file is a YAML file TorchServe's frontend may read. */
export function isYamlMember(name: string): boolean {
  return YAML_FILE.test(name);
}

/** The Java class a resolved tag makes SnakeYAML construct, if any. */
export function javaClassOfTag(tag: string): string | undefined {
  if (!tag.startsWith(CORE_PREFIX)) return undefined;
  const name = tag.slice(CORE_PREFIX.length);
  return JAVA_CLASS.test(name) ? name : undefined;
}

/**
 * Findings for the Java class tags of one YAML file: `torchserve/java-yaml-tag`, high, critical
 * for a known gadget class.
 * @param bytes - the file's bytes
 * @param member - its name in the model directory
 * @param checkpoint - abort/timeout check
 */
export function javaTagFindings(bytes: Uint8Array, member: string, checkpoint?: () => void): FindingInput[] {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const scan = lexYaml(text, YAML_BUDGETS, checkpoint);
  const findings: FindingInput[] = [];
  const seen = new Set<string>();
  for (const t of scan.tags) {
    const cls = javaClassOfTag(t.tag);
    if (cls === undefined || seen.has(cls)) continue;
    seen.add(cls);
    if (findings.length >= MAX_PER_FILE) break;
    const gadget = isJavaGadget(cls);
    findings.push({
      ruleId: "torchserve/java-yaml-tag",
      message: `${JSON.stringify(preview(member, 80))} tags a node ${JSON.stringify(preview(t.raw, 80))}: TorchServe's frontend reads the model's YAML config with SnakeYAML, whose Constructor builds the Java class ${preview(cls, 120)} when the model is registered${gadget ? " (a known deserialization gadget: it loads and runs remote or arbitrary code)" : ""}`,
      ...(gadget ? { severity: "critical" as const } : {}),
      evidence: { member: preview(member, 200), tag: preview(t.raw, 200), javaClass: preview(cls, 200), gadget },
    });
  }
  return findings;
}

/** A YAML file of a model directory, readable on demand. */
export interface YamlFile {
  /** Name in the model directory. */
  readonly name: string;
  /** Its size as listed (uncompressed), when known. */
  readonly size: number;
  /** Reads it whole (at most {@link MAX_YAML_BYTES}; `BUDGET_EXCEEDED` past it). */
  read(): Promise<Uint8Array>;
}

/** Where the findings go. */
export interface YamlSink {
  report(finding: FindingInput): void;
  checkpoint(): void;
}

/**
 * Checks the YAML files of a model directory for Java class tags. Files past
 * {@link MAX_YAML_FILES} or {@link MAX_YAML_BYTES} are not read but reported
 * (`scan/budget-exceeded`: the scan is incomplete), never passed in silence.
 * @param sink - where findings go
 * @param files - the directory's YAML files
 * @param isContentError - errors meaning the file cannot be read as content (reported, not thrown)
 */
export async function reportJavaYaml(
  sink: YamlSink,
  files: readonly YamlFile[],
  isContentError: (error: unknown) => error is Error,
): Promise<void> {
  for (const file of files.slice(0, MAX_YAML_FILES)) {
    sink.checkpoint();
    let bytes: Uint8Array | undefined;
    let why = `it is larger than ${MAX_YAML_BYTES} bytes`;
    if (file.size <= MAX_YAML_BYTES) {
      try {
        bytes = await file.read();
      } catch (error) {
        if (!isContentError(error)) throw error;
        why = error.message;
      }
    }
    if (bytes === undefined) {
      sink.report({
        ruleId: "scan/budget-exceeded",
        message: `${JSON.stringify(preview(file.name, 80))} could not be checked for Java class tags (${preview(why, 160)}); TorchServe's frontend reads its YAML config with SnakeYAML, which builds any Java class a tag names`,
        evidence: { budget: "torchserve.maxYamlBytes", member: preview(file.name, 200), limit: MAX_YAML_BYTES },
      });
      continue;
    }
    for (const finding of javaTagFindings(bytes, file.name, () => sink.checkpoint())) sink.report(finding);
  }
  if (files.length > MAX_YAML_FILES) {
    sink.report({
      ruleId: "scan/budget-exceeded",
      message: `${files.length - MAX_YAML_FILES} more YAML files were not checked for Java class tags (TorchServe's frontend reads its YAML config with SnakeYAML)`,
      evidence: { budget: "torchserve.maxYamlFiles", limit: MAX_YAML_FILES, count: files.length },
    });
  }
}
