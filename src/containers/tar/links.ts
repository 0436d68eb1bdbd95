/**
 * Link members of a tar, resolved the way the loaders meet them. NeMo `extractall`s the archive
 * and opens `model_config.yaml`; `torch.load`'s legacy path `extract`s `storages` and `tensors`
 * and opens the files. A member of that name may be a link: a hard link (`1`) whose target
 * `tarfile` finds among the earlier members (`_find_link_target`: the last with the same
 * `normpath`ed name), or a symbolic link (`2`) that the file system follows relative to the link's
 * directory. The bytes a loader reads under the link's name are another member's, and the analyses
 * chosen by the name (NeMo's config, the legacy storage layout) must run on them.
 *
 * On disk, names that a link joins share their content: a symlink reads its target, and writes
 * through it; a hard link shares its target's inode, so a later member written at either name
 * rewrites both. Paths are therefore grouped (union-find) over every link, by its name as
 * `tarfile` normalises it and as the file system resolves it (symlinked directories followed),
 * and every regular member written at a path of a group is content of every other name of the
 * group. A group holding several contents is ambiguous (which one a loader reads depends on how it
 * extracts): `tar/link-ambiguous` makes the archive invalid and every content is analysed under
 * every name. A link pointing outside the extraction directory is `container/path-traversal`.
 * A link whose target is not in the archive keeps its `container/link-member` finding.
 * @module
 */

import type { FindingInput } from "../../core/findings.js";
import type { TarEntry } from "./reader.js";

/** Symlinks followed while resolving one path (Linux allows 40). */
const MAX_HOPS = 40;
/** Characters handled while resolving one path (Linux's PATH_MAX is 4096). */
const MAX_WORK = 65_536;
/** Link members resolved; the rest keep only their `container/link-member` finding. */
const MAX_LINKS = 10_000;
/** Findings kept per rule (as the tar reader keeps). */
const MAX_FINDINGS = 20;
/** Extra member scans for links (content under a link's name). */
export const MAX_LINK_SCANS = 256;

/** One content to analyse under a link's (or a linked path's) name. */
export interface LinkScan {
  /** The name the loader opens. */
  readonly name: string;
  /** The regular member whose bytes that name reads. */
  readonly content: TarEntry;
}

/** The result of {@link resolveTarLinks}. */
export interface LinkResolution {
  /** Contents to analyse under other names, at most {@link MAX_LINK_SCANS}. */
  readonly scans: LinkScan[];
  /** Scans left out past the budget. */
  readonly skipped: number;
  /** Links (or members under symlinked directories) not resolved past the budget. */
  readonly unresolved: number;
  /** Names of link members (for the archive's flavour: a `storages` symlink is a `storages`). */
  readonly linkNames: string[];
  /** Escaping and ambiguous links. */
  readonly findings: FindingInput[];
}

/** Why a path does not resolve inside the archive. */
type Unresolved = "escape" | "loop";

/** POSIX `normpath` of a relative member path, as components; `escape` when it leaves the root. */
function lexical(path: string): string[] | "escape" {
  if (path.startsWith("/")) return "escape";
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") out.push(part);
    else if (out.length === 0) return "escape";
    else out.pop();
  }
  return out;
}

/** Union-find over path keys. */
class Groups {
  private readonly parent = new Map<string, string>();

  find(key: string): string {
    let root = key;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    // path compression, bounded by the chain just walked
    let k = key;
    while (k !== root) {
      const next = this.parent.get(k) ?? root;
      this.parent.set(k, root);
      k = next;
    }
    if (!this.parent.has(root)) this.parent.set(root, root);
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

/**
 * Resolves a path as the file system does after extraction: every component that is a symlink
 * member (the last member at that path) is replaced by its target, `..` applied physically.
 * `loop` past {@link MAX_HOPS} symlinks or {@link MAX_WORK} characters handled (Linux gives up
 * on such paths too: ELOOP, ENAMETOOLONG).
 */
function physical(start: readonly string[], last: ReadonlyMap<string, TarEntry>): string[] | Unresolved {
  const done: string[] = [];
  // components still to walk, the next one last
  const rest = start.slice().reverse();
  let hops = 0;
  let work = 0;
  let path = "";
  while (rest.length > 0) {
    const part = rest.pop() as string;
    work += part.length + path.length + 1;
    if (work > MAX_WORK) return "loop";
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (done.length === 0) return "escape";
      done.pop();
      path = done.join("/");
      continue;
    }
    done.push(part);
    path = path === "" ? part : `${path}/${part}`;
    const member = last.get(path);
    if (member?.type !== "2") continue;
    if (++hops > MAX_HOPS || member.linkName.length > MAX_WORK) return "loop";
    if (member.linkName.startsWith("/")) return "escape";
    done.pop();
    path = done.join("/");
    const target = member.linkName.split("/");
    for (let i = target.length - 1; i >= 0; i--) rest.push(target[i] as string);
  }
  return done;
}

/**
 * Groups the paths that links join and lists what to analyse under which name (see the module
 * comment).
 * @param entries - the archive's listing (`readTar`); only `tarfile`'s members count
 */
export function resolveTarLinks(entries: readonly TarEntry[]): LinkResolution {
  const members = entries.filter((e) => e.reader === "tarfile");
  const links = members.filter((e) => e.type === "1" || e.type === "2");
  const linkNames = links.map((l) => l.name);
  const findings: FindingInput[] = [];
  const scans: LinkScan[] = [];
  let skipped = 0;
  if (links.length === 0) return { scans, skipped, unresolved: 0, linkNames, findings };

  const keyOf = new Map<TarEntry, string>();
  const last = new Map<string, TarEntry>();
  for (const m of members) {
    const path = lexical(m.name);
    if (path === "escape") continue;
    const key = path.join("/");
    keyOf.set(m, key);
    last.set(key, m);
  }
  const groups = new Groups();
  const linked = new Set<string>();
  const join = (a: string, b: string): void => {
    groups.union(a, b);
    linked.add(a);
    linked.add(b);
  };

  let unresolved = Math.max(0, links.length - MAX_LINKS);
  let escaping = 0;
  for (const link of links.slice(0, MAX_LINKS)) {
    const key = keyOf.get(link);
    if (key === undefined) continue; // an escaping name: container/path-traversal already
    const dir = link.type === "2" ? key.split("/").slice(0, -1) : [];
    const target = link.linkName.startsWith("/") ? "escape" : lexical([...dir, link.linkName].join("/"));
    const onDisk = target === "escape" ? "escape" : physical([...dir, ...link.linkName.split("/")], last);
    if (target === "escape" || onDisk === "escape") {
      if (++escaping > MAX_FINDINGS) continue;
      findings.push({
        ruleId: "container/path-traversal",
        message: `${link.type === "1" ? "hard" : "symbolic"} link ${JSON.stringify(link.name)} points outside the extraction directory (${JSON.stringify(link.linkName)}): extracting it makes a loader that opens the name read (or write) a file outside the archive`,
        offset: link.headerOffset,
        evidence: { member: link.name, target: link.linkName },
      });
      continue;
    }
    join(key, target.join("/"));
    if (onDisk !== "loop") join(key, onDisk.join("/"));
  }
  // a member written under a symlinked directory lands at the resolved path
  const symlinks = new Set(links.filter((l) => l.type === "2").flatMap((l) => keyOf.get(l) ?? []));
  let resolutions = 0;
  for (const m of members) {
    const key = keyOf.get(m);
    if (key === undefined || m.type === "5" || symlinks.size === 0) continue;
    const parts = key.split("/");
    let prefix = "";
    let underLink = false;
    for (let i = 0; i < parts.length - 1 && !underLink; i++) {
      prefix = i === 0 ? (parts[0] as string) : `${prefix}/${parts[i]}`;
      underLink = symlinks.has(prefix);
    }
    if (!underLink) continue;
    if (++resolutions > MAX_LINKS) {
      unresolved++;
      continue;
    }
    const dir = physical(parts.slice(0, -1), last);
    if (typeof dir === "string") continue;
    const resolved = [...dir, parts.at(-1) as string].join("/");
    if (resolved !== key) join(key, resolved);
  }

  // Links whose meaning depends on the order extraction happens in, which the grouping above (the
  // archive's final state) does not model: a symbolic link redefined (a hard link or a file
  // written through it earlier lands elsewhere than through its last definition), and a hard link
  // to a symbolic link member or through a symlinked folder (tarfile's makelink falls back to a
  // copy of the link member when its target does not exist yet, re-read from the link's folder).
  let orderDependent = 0;
  const orderFinding = (member: TarEntry, why: string): void => {
    if (++orderDependent > MAX_FINDINGS) return;
    findings.push({
      ruleId: "tar/link-ambiguous",
      message: `${JSON.stringify(member.name)}: ${why}: which file a loader opens depends on the order extraction happens in`,
      offset: member.headerOffset,
      evidence: { member: member.name, contents: 0 },
    });
  };
  const definitions = new Map<string, number>();
  for (const m of members) {
    const key = keyOf.get(m);
    if (key !== undefined) definitions.set(key, (definitions.get(key) ?? 0) + 1);
  }
  for (const link of links.slice(0, MAX_LINKS)) {
    const key = keyOf.get(link);
    if (key === undefined) continue;
    if (link.type === "2" && (definitions.get(key) ?? 0) > 1) {
      orderFinding(link, "a symbolic link whose name is defined more than once in the archive");
    }
    if (link.type !== "1" || link.linkName.startsWith("/")) continue;
    const target = lexical(link.linkName);
    if (target === "escape") continue;
    const through = target.some((_, i) => symlinks.has(target.slice(0, i + 1).join("/")));
    if (through)
      orderFinding(link, `a hard link to ${JSON.stringify(link.linkName)}, a symbolic link or a path through one`);
  }

  // per group: its regular members (contents), the names a loader can open, a link for evidence
  const contents = new Map<string, TarEntry[]>();
  const names = new Map<string, Map<string, string>>();
  const linkOf = new Map<string, TarEntry>();
  for (const m of members) {
    const key = keyOf.get(m);
    if (key === undefined || !linked.has(key)) continue;
    const root = groups.find(key);
    if (m.isFile) {
      const group = contents.get(root);
      if (group === undefined) contents.set(root, [m]);
      else group.push(m);
    }
    if (m.type === "5") continue;
    const paths = names.get(root);
    if (paths === undefined) names.set(root, new Map([[key, m.name]]));
    else paths.set(key, m.name);
    if ((m.type === "1" || m.type === "2") && !linkOf.has(root)) linkOf.set(root, m);
  }
  let ambiguous = 0;
  for (const [root, paths] of names) {
    const group = contents.get(root) ?? [];
    if (group.length > 1 && ++ambiguous <= MAX_FINDINGS) {
      const link = linkOf.get(root);
      const shown = group.slice(0, 8).map((c) => `${JSON.stringify(c.name)} at ${c.dataOffset}`);
      findings.push({
        ruleId: "tar/link-ambiguous",
        message: `names ${JSON.stringify([...paths.values()].slice(0, 8))} are joined by links and written by ${group.length} members (${shown.join(", ")}${group.length > 8 ? ", ..." : ""}): which bytes a loader reads depends on how it extracts the archive; each was analysed under each name`,
        offset: link?.headerOffset ?? 0,
        evidence: { member: link?.name ?? "", contents: group.length },
      });
    }
    const atKey = new Map<string, number>();
    for (const c of group) atKey.set(keyOf.get(c) as string, (atKey.get(keyOf.get(c) as string) ?? 0) + 1);
    for (const [key, name] of paths) {
      const count = group.length - (atKey.get(key) ?? 0);
      let taken = 0;
      // every path that takes a scan adds one: at most MAX_LINK_SCANS walks of the group
      for (let i = 0; i < group.length && taken < count && scans.length < MAX_LINK_SCANS; i++) {
        const content = group[i] as TarEntry;
        if (keyOf.get(content) === key) continue;
        scans.push({ name, content });
        taken++;
      }
      skipped += count - taken;
    }
  }
  return { scans, skipped, unresolved, linkNames, findings };
}
