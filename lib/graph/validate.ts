/**
 * Checks a parsed YAML document against the schema of `schema.ts`, turning
 * it into plain values and remembering where every key and value stands.
 *
 * @module
 */
import type { Document, Node, Pair, YAMLMap } from "../runtime/yaml.ts";
import {
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type LineCounter,
} from "../runtime/yaml_light.ts";
import { didYouMean, JxInputError, type Pos } from "./errors.ts";
import { compactValues, nulFree } from "./fast_yaml.ts";
import { jobsListHint, notAMappingHint, unknownKeyHint, valueHint } from "./hints.ts";
import { table } from "./table.ts";
export { table } from "./table.ts";
import { formatMs, parseDuration, repeatedUnit } from "./duration.ts";
import {
  CACHE_FIELDS,
  type Field,
  type Kind,
  MAX_COUNT,
  MAX_DURATION_MS,
  NAME_RE,
  srunArgsRefusal,
  VAR_RE,
} from "./schema.ts";

/**
 * For a mapping of one key and no value (`[pkg:]`, `needs: [ci:]`): that YAML read `KEY:` as a
 * mapping, and quoting it gives the string (a namespace is written `"pkg:"`).
 */
function colonHint(n: YAMLMap): string {
  if (n.items.length !== 1) return "";
  const { key, value } = n.items[0] as Pair<unknown, unknown>;
  const k = isScalar(key) && typeof key.value === "string" ? key.value : undefined;
  const empty = value === null || value === undefined || isScalar(value) && value.value === null;
  return k !== undefined && empty ? ` (YAML reads ${k}: as one; quote it: "${k}:")` : "";
}

/**
 * The yaml package types a collection's items, a pair's key and value and a
 * document's contents `unknown`; its parser puts nodes (or null) there. This
 * narrows one (anything else counts as nothing).
 */
function nodeOf(x: unknown): Node | null {
  return isNode(x) ? x : null;
}

/** A mapping's pair, its key and value nodes (or null). */
type NodePair = Pair<Node | null, Node | null>;

/** Whether the pair's key and value are nodes or null, as the yaml parser makes them. */
function isNodePair(p: Pair<unknown, unknown>): p is NodePair {
  return (p.key === null || isNode(p.key)) && (p.value === null || isNode(p.value));
}

/** Whether every pair is a `NodePair` (checked, not cast: no copy of a big mapping's pairs). */
function allNodePairs(items: Pair<unknown, unknown>[]): items is NodePair[] {
  return items.every(isNodePair);
}

/** The value `check` returned for a string kind (the kind guarantees it). */
function checkedString(v: unknown): string {
  if (typeof v !== "string") throw new Error(`internal error: expected a string, got ${typeof v}`);
  return v;
}

/** The value `check` returned for an int kind (the kind guarantees it). */
function checkedNumber(v: unknown): number {
  if (typeof v !== "number") throw new Error(`internal error: expected a number, got ${typeof v}`);
  return v;
}

/** An entry whose positions are recorded (or that has none to record). */
const NOT_PENDING = Symbol("walked");

/**
 * The entries of a mapping of names (`jobs:`) in file order: each one's
 * name, its key's and value's offsets, and its node while the positions
 * under it are not recorded (`NOT_PENDING` once they are). Found by name
 * through an index made when first needed (a message), or by place (each
 * job built asks for its own key's: no index at all).
 */
class Section {
  readonly names: string[] = [];
  readonly keys: number[] = [];
  readonly values: number[] = [];
  readonly nodes: unknown[] = [];
  /** Each name's entry (the last, for a name written twice). */
  private index?: Map<string, number>;
  /** `walk` records the positions under an entry (one function for the section). */
  constructor(readonly walk: (node: unknown, name: string) => void) {}

  add(name: string, key: number, value: number, node: unknown): void {
    this.index?.set(name, this.names.length);
    this.names.push(name);
    this.keys.push(key);
    this.values.push(value);
    this.nodes.push(node);
  }

  /** The entry named `name`, through the index. */
  find(name: string): number | undefined {
    if (!this.index) {
      this.index = new Map();
      for (let i = 0; i < this.names.length; i++) this.index.set(this.names[i], i);
    }
    return this.index.get(name);
  }
}

/**
 * Positions by dotted path: `jobs.a.needs.0` for a value, `jobs.a.needs#`
 * for its key. Each is kept as its offset in the text (a small number, no
 * object) and made a line and column when asked for (messages only). An
 * entry of a mapping of names (a job of `jobs:`, a module of `modules:`) is
 * kept by its name in its section, and nothing inside it is recorded while
 * the file is checked: the job's node is kept, and walked again to record
 * its positions the first time one of them is asked for (a big file had
 * millions of paths, almost never asked for).
 */
export class PosMap {
  private offsets = new Map<string, number | Pos>();
  /** Entries by section (`jobs`) and name. */
  private sections = new Map<string, Section>();
  constructor(private lines?: LineCounter) {}

  /** Records a position (a line and column, or an offset in the text). */
  set(path: string, at: Pos | number): this {
    this.offsets.set(path, at);
    return this;
  }

  /**
   * Records the entry `name` of `section`: its key's offset (`section.name#`),
   * its value's (`section.name`), and its node, which `walk` (the same for a
   * whole section: no closure per entry) walks to record the positions under
   * it when one is first asked for.
   */
  entry(
    section: string,
    name: string,
    key: number,
    value: number,
    node: unknown,
    walk: Section["walk"],
  ): void {
    let s = this.sections.get(section);
    if (!s) this.sections.set(section, s = new Section(walk));
    s.add(name, key, value, node);
  }

  get(path: string): Pos | undefined {
    return this.pos(this.find(path));
  }

  /**
   * The position of entry `name`'s key in `section` (`get("jobs.NAME#")`, without a walk): the
   * entry at place `at` among the section's when it is named so (no lookup by name), else the
   * last entry of that name.
   */
  keyOf(section: string, name: string, at?: number): Pos | undefined {
    const s = this.sections.get(section);
    const i = at !== undefined && s?.names[at] === name ? at : s?.find(name);
    return i !== undefined ? this.pos(s!.keys[i]) : this.get(`${section}.${name}#`);
  }

  private pos(at: number | Pos | undefined): Pos | undefined {
    return typeof at !== "number" ? at : this.lines ? this.lines.linePos(at) : undefined;
  }

  has(path: string): boolean {
    return this.find(path) !== undefined;
  }

  /** How many positions are recorded now (entries and what is deferred not counted). */
  get size(): number {
    return this.offsets.size;
  }

  /** The recorded position, from an entry's section, or walking the entry it is under first. */
  private find(path: string): number | Pos | undefined {
    const at = this.offsets.get(path);
    if (at !== undefined) return at;
    for (const [section, s] of this.sections) {
      if (
        path.length <= section.length || !path.startsWith(section) || path[section.length] !== "."
      ) {
        continue;
      }
      const rest = path.slice(section.length + 1);
      const hash = rest.endsWith("#");
      const e = s.find(hash ? rest.slice(0, -1) : rest);
      if (e !== undefined) return hash ? s.keys[e] : s.values[e];
      // Under an entry. A name may hold dots (`jobs.a.b.run`: job `a` or job `a.b`): every
      // prefix is tried.
      for (let i = rest.indexOf("."); i >= 0; i = rest.indexOf(".", i + 1)) {
        const name = rest.slice(0, i), under = s.find(name);
        if (under === undefined || s.nodes[under] === NOT_PENDING) continue;
        const node = s.nodes[under];
        s.nodes[under] = NOT_PENDING;
        s.walk(node, name);
        if (this.offsets.has(path)) return this.offsets.get(path);
      }
    }
    return undefined;
  }
}

/** The keys of a `foreach` mapping. */
const FOREACH_KEYS = ["glob", "list", "matrix", "as"];

/** Walks YAML nodes, checking kinds and recording positions. */
export class Validator {
  readonly positions: PosMap;
  /** Off while an entry is checked the first time (see `PosMap`). */
  private recording = true;
  constructor(private file: string, private lines: LineCounter, private doc?: Document) {
    this.positions = new PosMap(lines);
    // The fast front end gives up on a NUL: a document it made holds none.
    if (doc && !nulFree(doc)) this.refuseNul(nodeOf(doc.contents));
  }

  /**
   * Refuses a NUL byte in any key or string of the document: a command, an
   * argument, a path or the environment would silently end at it. Walks
   * with its own stack (no recursion), aliases once where their anchor is.
   */
  private refuseNul(root: Node | null): void {
    const todo: [Node | null, string][] = [[root, ""]];
    for (let next = todo.pop(); next; next = todo.pop()) {
      const [node, where] = next;
      if (isScalar(node)) {
        if (typeof node.value === "string" && node.value.includes("\0")) {
          this.fail(
            `${where || "file:"} contains a NUL byte (\\0), which no command, path or ` +
              "environment can hold",
            node,
          );
        }
      } else if (isMap(node)) {
        const pairs = node.items;
        for (let i = pairs.length - 1; i >= 0; i--) {
          const key = nodeOf(pairs[i].key), value = nodeOf(pairs[i].value);
          const k = isScalar(key) ? String(key.value).replaceAll("\0", "\\0") : "?";
          const path = where ? `${where.slice(0, -1)}.${k}:` : `${k}:`;
          todo.push([value, path], [key, `${where || "file:"} a key`]);
        }
      } else if (isSeq(node)) {
        for (let i = node.items.length - 1; i >= 0; i--) {
          todo.push([nodeOf(node.items[i]), `${where.slice(0, -1)}[${i}]:`]);
        }
      }
    }
  }

  /** Follows an alias (`*name`) to the node its anchor marks. */
  deref(node: Node | null): Node | null {
    if (!isAlias(node)) return node;
    const target = this.doc ? node.resolve(this.doc) : undefined;
    if (!target) {
      // `reads: *.c`: a glob that YAML reads as an alias, since it starts with `*`.
      const glob = /[./*?[{]/.test(node.source) ? `; a glob is quoted: "*${node.source}"` : "";
      this.fail(`unknown alias *${node.source} (no anchor &${node.source} before it${glob})`, node);
    }
    return nodeOf(target);
  }

  /** A mapping's pairs with `<<: *base` merge keys expanded (explicit keys win). */
  private pairs(map: YAMLMap<unknown, unknown>, path: string): NodePair[] {
    const items = map.items;
    if (!allNodePairs(items)) this.fail(`${path || "file"}: internal error: not a node`, null);
    if (!items.some(isMerge)) return items; // most mappings: nothing to merge
    const own: NodePair[] = [];
    const merged: NodePair[] = [];
    for (const pair of items) {
      const k = isScalar(pair.key) ? pair.key.value : undefined;
      if (k !== "<<" && !(typeof k === "symbol" && k.description === "<<")) {
        own.push(pair);
        continue;
      }
      const v = this.deref(pair.value);
      const sources = isSeq(v) ? v.items.map((i) => this.deref(nodeOf(i))) : [v];
      for (const src of sources) {
        if (!isMap(src)) {
          this.fail(`${path || "file"}: '<<' merges a mapping, got ${typeName(src)}`, pair.value);
        }
        merged.push(...this.pairs(src, path));
      }
    }
    const keys = new Set(own.map((p) => String(isScalar(p.key) ? p.key.value : "")));
    return [...merged.filter((p) => !keys.has(String(isScalar(p.key) ? p.key.value : ""))), ...own];
  }

  /** Position of a node (or the document start). */
  pos(node: Node | null | undefined): Pos {
    return this.lines.linePos(at(node));
  }

  fail(msg: string, node: Node | null | undefined): never {
    throw new JxInputError(msg, this.file, this.pos(node));
  }

  /** Checks `node` against `kind`; `path` names it in messages, e.g. `jobs.a.tokens`. */
  check(rawNode: Node | null, kind: Kind, path: string): unknown {
    if (this.recording) this.positions.set(path, at(rawNode));
    const node = this.deref(rawNode);
    const scalar = isScalar(node) ? node.value : undefined;
    switch (kind.t) {
      case "string": {
        const text = this.text(node, scalar, kind.enum, path);
        if (kind.nonEmpty && text.trim() === "") this.fail(`${path}: empty`, node);
        return text;
      }
      case "int":
        return this.int(node, scalar, kind, path);
      case "version":
        return this.version(node, scalar, path);
      case "duration":
        return this.duration(node, scalar, kind.min, path);
      case "names": {
        const list = typeof scalar === "string" ? [scalar] : this.names(node, path);
        if (kind.srun) this.srunArgs(node, list, path);
        return list;
      }
      case "run":
        return typeof scalar === "string"
          ? this.command(node, scalar, path)
          : this.argv(node, path);
      case "scalars":
      case "counts":
        return this.namedValues(node, kind.t, path);
      case "foreach":
        return this.foreach(node, path);
      case "cache":
        return typeof scalar === "boolean" ? scalar : this.cacheMap(node, path);
      case "entries":
        return this.entries(node, kind.of, path);
      case "object":
        return this.object(node, kind.fields, path, kind.foreign);
      case "either":
        return this.check(rawNode, isMap(node) ? kind.map : kind.scalar, path);
      case "bool":
        if (typeof scalar !== "boolean") {
          const hint = valueHint("flag", scalar);
          this.fail(`${path}: expected true or false, got ${typeName(node)}${hint}`, node);
        }
        return scalar;
      default: {
        const _assertNever: never = kind;
        return _assertNever;
      }
    }
  }

  /** A string (`enum`: one of those, a number or flag not taken as its text). */
  private text(node: Node | null, scalar: unknown, choices: string[] | undefined, where: string) {
    const text = asText(scalar, choices !== undefined, node);
    if (text === undefined) this.fail(`${where}: expected a string, got ${typeName(node)}`, node);
    if (choices && !choices.includes(text)) {
      this.fail(
        `${where}: must be one of ${choices.join(", ")}, got '${text}'` + didYouMean(text, choices),
        node,
      );
    }
    return text;
  }

  /** A whole number from `kind.min` to `kind.max`. */
  private int(
    node: Node | null,
    scalar: unknown,
    kind: { min: number; max: number },
    where: string,
  ) {
    if (typeof scalar !== "number" || !Number.isInteger(scalar)) {
      const got = typeof scalar === "number" ? String(scalar) : typeName(node);
      this.fail(`${where}: expected a whole number, got ${got}`, node);
    }
    if (scalar < kind.min) this.fail(`${where}: must be at least ${kind.min}, got ${scalar}`, node);
    if (scalar > kind.max) this.fail(`${where}: must be at most ${kind.max}, got ${scalar}`, node);
    return scalar;
  }

  /** The file format's version: 1. */
  private version(node: Node | null, scalar: unknown, where: string): 1 {
    if (scalar !== 1 && scalar !== "1") {
      const got = JSON.stringify(scalar ?? null);
      this.fail(`${where}: unsupported version ${got} (this jx reads version 1)`, node);
    }
    return 1;
  }

  /** A duration (`500ms`, `1m30s`, a number of seconds) in milliseconds, at least `min`. */
  private duration(node: Node | null, scalar: unknown, min: number, where: string) {
    if (typeof scalar !== "string" && typeof scalar !== "number") {
      this.fail(
        `${where}: expected a duration (e.g. 500ms, 30s, 2m, 1h, 1m30s), got ${typeName(node)}`,
        node,
      );
    }
    const ms = parseDuration(scalar);
    if (ms === undefined) {
      const got = typeof scalar === "number" ? String(scalar) : JSON.stringify(scalar);
      const twice = typeof scalar === "string" ? repeatedUnit(scalar) : undefined;
      const why = twice
        ? `: '${twice}' twice (give each unit once, e.g. 2h or 1h30m)`
        : " (use e.g. 500ms, 30s, 2m, 1h, 1m30s)";
      this.fail(`${where}: bad duration ${got}${why}`, node);
    }
    return this.durationInRange(ms, min, scalar, where, node);
  }

  /** A list of names (a single name is checked by `check`). */
  private names(node: Node | null, path: string): string[] {
    if (!isSeq(node)) {
      this.fail(`${path}: expected a string or a list of strings, got ${typeName(node)}`, node);
    }
    return node.items.map((raw, i) => {
      const item = this.deref(nodeOf(raw));
      const v = isScalar(item) ? item.value : undefined;
      if (this.recording) this.positions.set(`${path}.${i}`, at(nodeOf(raw)));
      if (!isName(v)) {
        this.fail(`${path}[${i}]: expected a non-empty string, got ${typeName(item)}`, item);
      }
      return v;
    });
  }

  /** `slurm: {args}`: no option jx sets for the step itself (`srunOptionRefusal`). */
  private srunArgs(node: Node | null, list: string[], path: string): void {
    // With a `${NAME}`, checked once substituted (graph/spec.ts `slurmSpec`).
    if (list.some((a) => a.includes("${"))) return;
    const no = srunArgsRefusal(list);
    if (!no) return;
    const [i, why] = no;
    const item = isSeq(node) ? this.deref(nodeOf(node.items[i])) : node;
    this.fail(`${path}[${i}]: ${why}`, item);
  }

  /** A `run:` string (a shell command). */
  private command(node: Node | null, scalar: string, where: string): string {
    if (scalar.trim() === "") this.fail(`${where}: empty command`, node);
    return scalar;
  }

  /** A `run:` list (an argv of strings). */
  private argv(node: Node | null, path: string): string[] {
    if (!isSeq(node)) {
      this.fail(`${path}: expected a string or a list (argv), got ${typeName(node)}`, node);
    }
    if (node.items.length === 0) this.fail(`${path}: empty argv list`, node);
    return node.items.map((raw, i) => {
      const item = this.deref(nodeOf(raw));
      const v = isScalar(item) ? item.value : undefined;
      if (this.recording) this.positions.set(`${path}.${i}`, at(nodeOf(raw)));
      const arg = asText(v, false, item);
      if (arg === undefined) {
        this.fail(`${path}[${i}]: argv items must be strings, got ${typeName(item)}`, item);
      }
      return arg;
    });
  }

  /** A mapping of names to scalars as text (`scalars`: vars, env) or to counts (pools). */
  private namedValues(node: Node | null, t: "scalars" | "counts", path: string) {
    if (!isMap(node)) this.fail(`${path}: expected a mapping, got ${typeName(node)}`, node);
    const out: Record<string, string | number> = table();
    for (const pair of this.pairs(node, path)) {
      const key = this.key(pair, path);
      const p = `${path}.${key}`;
      if (!(t === "scalars" ? VAR_RE : NAME_RE).test(key)) {
        this.fail(`${path}: invalid name '${key}'`, pair.key);
      }
      out[key] = t === "counts"
        ? checkedNumber(this.check(pair.value, { t: "int", min: 1, max: MAX_COUNT }, p))
        : this.scalarText(pair.value, p);
    }
    return out;
  }

  /** A string, number or flag as its text (a value of `vars:` or `env:`). */
  private scalarText(raw: Node | null, p: string): string {
    if (this.recording) this.positions.set(p, at(raw));
    const value = this.deref(raw);
    const v = isScalar(value) ? value.value : undefined;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      const hint = valueHint("text", isMap(value) ? {} : isSeq(value) ? undefined : v ?? null);
      this.fail(`${p}: expected a string, number or boolean, got ${typeName(value)}${hint}`, raw);
    }
    return asText(v, false, value)!;
  }

  /** `cache:` as a mapping `{env, salt}` (true or false are taken by `check`). */
  private cacheMap(node: Node | null, path: string) {
    if (!isMap(node)) {
      this.fail(
        `${path}: expected true, false or a mapping {env, salt}, got ${typeName(node)}`,
        node,
      );
    }
    return this.object(node, CACHE_FIELDS, path);
  }

  /**
   * `[name, entry]` pairs in the order written (`jobs:`, `modules:`): a JS object would put
   * names such as `1` first, and file order is what orders jobs.
   */
  private entries(node: Node | null, of: Kind, path: string) {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (!isMap(node)) {
      const hint = jobsListHint(node, path);
      this.fail(`${path}: expected a mapping of names, got ${typeName(node)}${hint}`, node);
    }
    const out: [string, unknown][] = [];
    for (const pair of this.pairs(node, path)) {
      const key = this.key(pair, path, false); // recorded with the entry
      if (!NAME_RE.test(key)) {
        this.fail(
          `${path}: invalid name '${key}' (letters, digits and _ . : / + - ; starting with a letter, digit or _)`,
          pair.key,
        );
      }
      out.push([key, this.entry(pair, of, path, key)]);
    }
    return out;
  }

  /**
   * Checks one entry (a job, a module: `pair`'s value, named `name` in
   * `section`) without recording the positions inside it, and records it
   * with its walk (see `PosMap`). On an error the entry is checked again
   * recording them, so that the message has the position it always had.
   */
  private entry(pair: NodePair, kind: Kind, section: string, name: string): unknown {
    const raw = pair.value;
    if (!this.recording) return this.check(raw, kind, `${section}.${name}`);
    this.recording = false;
    try {
      const out = quickEntry(raw, kind) ?? this.check(raw, kind, `${section}.${name}`);
      const walk = this.walkerOf(section, kind);
      this.positions.entry(section, name, at(pair.key), at(raw), raw, walk);
      return out;
    } catch (e) {
      const path = `${section}.${name}`;
      this.recording = true;
      this.positions.set(`${path}#`, at(pair.key));
      this.positions.set(path, at(raw));
      this.check(raw, kind, path); // throws again, with the positions recorded
      throw e;
    } finally {
      this.recording = true;
    }
  }

  /** Each section's walk of an entry checked before (`PosMap.entry`), made once. */
  private walkers = new Map<string, (node: unknown, name: string) => void>();

  /** The walk that records the positions in an entry of `section`, whose entries are `kind`. */
  private walkerOf(section: string, kind: Kind): (node: unknown, name: string) => void {
    let w = this.walkers.get(section);
    if (!w) {
      w = (node, name) => this.record(node as Node | null, kind, `${section}.${name}`);
      this.walkers.set(section, w);
    }
    return w;
  }

  /** Walks an entry checked before, recording its positions. */
  private record(raw: Node | null, kind: Kind, path: string): void {
    const was = this.recording;
    this.recording = true;
    try {
      this.check(raw, kind, path);
    } finally {
      this.recording = was;
    }
  }

  /** A duration's milliseconds, within `min` and `MAX_DURATION_MS`. */
  private durationInRange(
    ms: number,
    min: number,
    written: string | number,
    where: string,
    node: Node | null,
  ): number {
    if (ms > MAX_DURATION_MS) {
      this.fail(
        `${where}: ${written} is longer than the longest duration jx can time ` +
          "(596h: 2^31-1 ms)",
        node,
      );
    }
    if (ms < min) {
      const least = min === 1 ? "more than 0 (at least 1ms)" : `at least ${formatMs(min)}`;
      this.fail(`${where}: must be ${least}, got ${written}`, node);
    }
    return ms;
  }

  /** A `foreach` value: a list, or one of {glob, as}, {list, as}, {matrix}. */
  private foreach(node: Node | null, path: string): Foreach {
    if (isSeq(node)) return { kind: "list", items: this.foreachList(node, path), as: "ITEM" };
    if (!isMap(node)) {
      const v = isScalar(node) ? node.value : undefined;
      this.fail(
        `${path}: expected a list or a mapping with glob, list or matrix, got ${typeName(node)}` +
          valueHint("foreach", v),
        node,
      );
    }
    const keys = new Map<string, Node | null>();
    for (const pair of this.pairs(node, path)) {
      const key = this.key(pair, path);
      if (!FOREACH_KEYS.includes(key)) {
        this.fail(`${path}: unknown key '${key}'${didYouMean(key, FOREACH_KEYS)}`, pair.key);
      }
      keys.set(key, pair.value);
    }
    const kinds = ["glob", "list", "matrix"].filter((k) => keys.has(k));
    if (kinds.length !== 1) this.fail(`${path}: give exactly one of glob, list, matrix`, node);
    let as = "ITEM";
    if (keys.has("as")) {
      as = checkedString(this.check(keys.get("as") ?? null, { t: "string" }, `${path}.as`));
      if (!VAR_RE.test(as)) this.fail(`${path}.as: invalid variable name '${as}'`, keys.get("as"));
    }
    if (kinds[0] === "glob") {
      return {
        kind: "glob",
        glob: checkedString(this.check(keys.get("glob") ?? null, { t: "string" }, `${path}.glob`)),
        as,
      };
    }
    if (kinds[0] === "list") {
      return { kind: "list", items: this.foreachList(keys.get("list")!, `${path}.list`), as };
    }
    if (keys.has("as")) {
      this.fail(`${path}.as: a matrix names its variables by its keys`, keys.get("as"));
    }
    return this.matrix(keys.get("matrix")!, `${path}.matrix`);
  }

  /** A `foreach` matrix: a mapping of NAME: [values]. */
  private matrix(node: Node | null, path: string): Foreach {
    const m = this.deref(node);
    if (!isMap(m) || m.items.length === 0) {
      this.fail(`${path}: expected a mapping of NAME: [values]`, m);
    }
    const axes: [string, string[]][] = [];
    for (const pair of this.pairs(m, path)) {
      const k = this.key(pair, path);
      if (!VAR_RE.test(k)) this.fail(`${path}: invalid variable name '${k}'`, pair.key);
      axes.push([k, this.foreachList(pair.value, `${path}.${k}`)]);
    }
    return { kind: "matrix", axes };
  }

  /** A non-empty list of strings or numbers (as their text), for `foreach`. */
  private foreachList(node: Node | null, path: string): string[] {
    const n = this.deref(node);
    if (!isSeq(n) || n.items.length === 0) this.fail(`${path}: expected a non-empty list`, n);
    return n.items.map((raw, i) => {
      const item = this.deref(nodeOf(raw));
      const v = isScalar(item) ? item.value : undefined;
      if (this.recording) this.positions.set(`${path}.${i}`, at(nodeOf(raw)));
      if (typeof v !== "string" && typeof v !== "number") {
        this.fail(`${path}[${i}]: expected a string or number, got ${typeName(item)}`, item);
      }
      return asText(v, false, item)!;
    });
  }

  /** A mapping's key as a string, with its position recorded as `path.key#` (unless `record` is false). */
  private key(pair: NodePair, path: string, record = true): string {
    const k = isScalar(pair.key) ? pair.key.value : undefined;
    if (typeof k !== "string" && typeof k !== "number") {
      this.fail(`${path}: keys must be strings`, pair.key);
    }
    const key = String(k);
    if (record && this.recording) this.positions.set(`${path}.${key}#`, at(pair.key));
    return key;
  }

  /** Checks a mapping against named fields: unknown keys, required keys, kinds. */
  object(
    rawNode: Node | null,
    fields: Record<string, Field>,
    path: string,
    foreign?: { fields: Record<string, Field>; what: string },
  ): Record<string, unknown> {
    const node = this.deref(rawNode);
    if (!isMap(node)) {
      const hint = notAMappingHint(node, fields, path);
      this.fail(`${path || "file"}: expected a mapping, got ${typeName(node)}${hint}`, rawNode);
    }
    const out: Record<string, unknown> = table();
    for (const pair of this.pairs(node, path)) {
      const key = this.key(pair, path);
      if (path === "" && key.startsWith("x-")) continue; // extension keys, for anchors
      const f = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (!f) {
        const hint = foreign && Object.hasOwn(foreign.fields, key)
          ? ` ('${key}' is for ${foreign.what} only)`
          : unknownKeyHint(key, nodeOf(pair.value), fields, path);
        this.fail(`${path ? path + ": " : ""}unknown key '${key}'${hint}`, pair.key);
      }
      out[key] = this.check(pair.value, f.kind, path ? `${path}.${key}` : key);
    }
    for (const k of requiredOf(fields)) {
      if (!Object.hasOwn(out, k)) {
        const at = this.positions.get(`${path}#`);
        if (at) throw new JxInputError(`${path}: missing required key '${k}'`, this.file, at);
        this.fail(`${path}: missing required key '${k}'`, node);
      }
    }
    return out;
  }
}

/** Whether a pair is a merge key (`<<: *base`). */
function isMerge(pair: NodePair): boolean {
  const k = isScalar(pair.key) ? pair.key.value : undefined;
  return k === "<<" || (typeof k === "symbol" && k.description === "<<");
}

/**
 * An entry that the fast YAML front end kept as values (a one-line flow
 * mapping: see its `CompactMap`), checked from them, no nodes made, when each
 * of its keys is of a kind read here and every value is right; undefined
 * otherwise, and the nodes are checked as always (and say what is wrong).
 * What it returns is what `check` returns for the same entry.
 */
function quickEntry(raw: Node | null, kind: Kind): Record<string, unknown> | undefined {
  if (kind.t !== "object") return undefined;
  const values = compactValues(raw);
  if (!values) return undefined;
  const fields = kind.fields;
  for (const k of requiredOf(fields)) if (!Object.hasOwn(values, k)) return undefined;
  // Most entries are their values as they are (strings, lists of names): then no copy is made.
  let same = true;
  for (const key in values) {
    const f = Object.hasOwn(fields, key) ? fields[key] : undefined;
    const v = f && quickValue(values[key], f.kind);
    if (v === undefined) return undefined;
    if (v !== values[key]) same = false;
  }
  // Cast: an entry is read only (`read.ts`'s `Entry`), as the values are.
  if (same) return values as Record<string, unknown>;
  const out: Record<string, unknown> = table();
  for (const key in values) out[key] = quickValue(values[key], fields[key].kind);
  return out;
}

/**
 * A compact entry's value as `check` makes it (the same rules: `asText`,
 * `isName`), for the kinds most jobs use only; undefined for any other.
 */
function quickValue(v: unknown, kind: Kind): unknown {
  // A number or flag where text is wanted is its text as written (`3.10`): only nodes keep it.
  switch (kind.t) {
    case "string":
      return kind.enum || typeof v !== "string" || (kind.nonEmpty && v.trim() === "")
        ? undefined
        : v;
    case "names":
      if (kind.srun) return undefined; // (checked item by item)
      if (typeof v === "string") return [v];
      return Array.isArray(v) && v.every(isName) ? v : undefined;
    case "run": {
      if (typeof v === "string") return v.trim() === "" ? undefined : v;
      if (!Array.isArray(v) || v.length === 0) return undefined;
      return v.every((a) => typeof a === "string") ? v : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A scalar as text where the schema takes a string: a string as it is, a
 * number or a flag written as text (not where only some words are allowed,
 * `enumOnly`); undefined for anything else.
 */
function asText(v: unknown, enumOnly: boolean, node?: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (enumOnly || (typeof v !== "number" && typeof v !== "boolean")) return undefined;
  return writtenAs(node) ?? String(v);
}

/**
 * A plain scalar's text as written, when YAML read it as other than a string: where the schema
 * takes text, `3.10` is `3.10` (not `3.1`), `0x1F` is `0x1F`, `True` is `True`. Both YAML front
 * ends keep it (`source`).
 */
function writtenAs(node: unknown): string | undefined {
  const source = isScalar(node) ? (node as { source?: unknown }).source : undefined;
  return typeof source === "string" && source !== "" ? source : undefined;
}

/** A name in a list of names (`needs`, `reads`...): a string, not empty. */
function isName(v: unknown): v is string {
  return typeof v === "string" && v !== "";
}

/** The required keys of each set of fields, found once. */
const required = new WeakMap<Record<string, Field>, string[]>();

function requiredOf(fields: Record<string, Field>): string[] {
  let keys = required.get(fields);
  if (!keys) required.set(fields, keys = Object.keys(fields).filter((k) => fields[k].required));
  return keys;
}

/** A node's offset in the text (the document's start for none). */
function at(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}

/** How a node is named in messages: `a list`, `a string`, `nothing`... */
export function typeName(n: Node | null | undefined): string {
  if (n === null || n === undefined) return "nothing";
  if (isMap(n)) return `a mapping${colonHint(n)}`;
  if (isSeq(n)) return "a list";
  if (isAlias(n)) return "an alias";
  if (isScalar(n)) {
    const v = n.value;
    if (v === null) return "nothing";
    if (typeof v === "string") return "a string";
    if (typeof v === "number" || typeof v === "bigint") return "a number";
    if (typeof v === "boolean") return "a boolean";
    if (v instanceof Uint8Array) return "binary data";
    if (v instanceof Date) return "a date";
  }
  return "something else";
}

/** A checked `foreach`. */
export type Foreach =
  | { kind: "list"; items: string[]; as: string }
  | { kind: "glob"; glob: string; as: string }
  | { kind: "matrix"; axes: [string, string[]][] };
