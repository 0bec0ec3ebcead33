/**
 * The plan of a `jx sh` run: the script as a sequence of nodes in script
 * order, where a node is a job (a command run by `sh -c`) or a control node
 * (the rest of an `&&`/`||` list, the branch of an `if`, the next turn of a
 * loop, a function definition...) that is replaced by the commands it stands
 * for once the status it depends on is known. Pure: no processes, no clock.
 *
 * Rules:
 * - A job starts once no earlier unfinished node conflicts with it: a write
 *   waits for earlier reads and writes of the same path, a read for earlier
 *   writes; a barrier waits for everything before it and everything after
 *   waits for it.
 * - A control node resolves once the node before it has ended (its status
 *   is `$?`); a function definition or the end of a `for` (which change
 *   shell state without a process) once everything before them has ended.
 * - Under `set -e`, a job that writes waits for every earlier node: a
 *   failure must stop the script before it starts. Jobs that only read may
 *   run ahead; their output is dropped if the script stops before them.
 * - `exit`, or a failure under `set -e`, stops the script: later jobs are
 *   cancelled, and the exit status is that of sh.
 *
 * @module
 */
import {
  type Access,
  arithmetics,
  conflicts,
  deriveAccess,
  type DeriveContext,
  EMPTY,
  FALLBACK_BUILTINS,
  forgetLinks,
  jobAccess,
  type Resolver,
  resolveWord,
  writtenPaths,
} from "./derive.ts";
import {
  closeHeredocs,
  type Item,
  jobText,
  literalOf,
  nodeText,
  type ParseResult,
  type ShNode,
  walk,
  type Word,
} from "./parse.ts";
import { parseDump, type ShState } from "./state.ts";

/** The commands of one kind. */
type NodeOf<T extends ShNode["type"]> = Extract<ShNode, { type: T }>;

/**
 * A command to run as one `sh -c`.
 *
 * @example
 * ```ts
 * import type { ShJob } from "./plan.ts";
 * const describe = (j: ShJob) => `${j.name} (line ${j.line}): ${j.text}`;
 * ```
 */
export interface ShJob {
  kind: "job";
  id: number;
  /** `LINE:COMMAND`, with `#N` on the Nth run of the same command (loops). */
  name: string;
  line: number;
  text: string;
  /**
   * Its text ends inside a here-document left open at the end of the script,
   * without a final newline: nothing may follow it (parse.ts `closeHeredocs`).
   */
  openEnd?: boolean;
  node: ShNode;
  /** Variables bound by an expanded `for` (`boundValues` gives those its prelude sets). */
  binds: Binds;
  /** In a condition (`if`/`while` test, not the last of `&&`/`||`, `!`): `set -e` does not apply. */
  cond: boolean;
  /** The rest of the script, run as one sh (something jx cannot carry state across). */
  rest: boolean;
  /** A rest that starts background commands (`cmd &`): they may outlive it. */
  background?: boolean;
  state: "waiting" | "running" | "done" | "cancelled";
  status?: number;
  /** `set -e` applied when it started. */
  errexit?: boolean;
  /** It ends the script with this status (applied in script order). */
  stopStatus?: number;
  /** Its shell may exit on its own (`${x?}`, `$((1/0))`, `: > /nonexistent/x`): cached. */
  exitRisk?: boolean;
  /** Derived when it is considered, with the state of that moment. */
  access?: Access;
  accessVersion?: number;
}

interface Ctl {
  kind: "ctl";
  id: number;
  line: number;
  /** Resolves only when every earlier node has ended (it changes shell state). */
  atHead: boolean;
  /**
   * Resolves as soon as a scan reaches it (no barrier before it is unfinished:
   * the state is that of its turn), and leaves the sequence: its nodes take its place.
   */
  onReach?: boolean;
  /** A `for` whose values are set in the state when it resolves (its variable is unknown until then). */
  setsVar?: string;
  /**
   * What the nodes it stands for may touch, for ordering while it is
   * unresolved, with the state of now (variables a `for` has not set yet unknown).
   */
  access: (pending: Set<string>) => Access;
  state: "waiting" | "done" | "cancelled";
  status?: number;
  /** Its nodes and status; `rest`: they replace everything after it too. */
  resolve(prev: number): { nodes: SeqNode[]; status: number; rest?: boolean };
}

type SeqNode = ShJob | Ctl;

/**
 * The value a turn of an unfolded `for` gives its variable, shared by every
 * job of that turn (nested turns too). `live` until the shell's own state
 * holds the variable: once a barrier of the turn has ended (its dump has
 * the value, or what the body set it to: `for i in 1 2; do i=x$i; ...`) or
 * an inner `for` of the same name has set it.
 */
interface Binding {
  value: string;
  live: boolean;
}

/**
 * Variables bound by the unfolded `for` loops around a command.
 *
 * @example
 * ```ts
 * import type { Binds } from "./plan.ts";
 * const b: Binds = new Map([["f", { value: "a.txt", live: true }]]);
 * ```
 */
export type Binds = Map<string, Binding>;

/**
 * The variables a job's prelude sets for the `for` loops around it: the
 * bindings the shell's state does not hold yet.
 *
 * @example
 * ```ts
 * import { boundValues } from "./plan.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const b = new Map([["f", { value: "a", live: true }], ["g", { value: "b", live: false }]]);
 * assertEquals(boundValues(b), new Map([["f", "a"]]));
 * ```
 */
export function boundValues(binds: Binds): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, b] of binds) if (b.live) out.set(k, b.value);
  return out;
}

/** Options of a plan. */
export interface ShPlanOptions {
  /** The script's state when it starts. */
  state: ShState;
  /** `$0`. */
  argv0: string;
}

/**
 * What a job to start needs: its `sh -c` text is built by the caller from
 * `state` (see `jobScript`).
 */
export interface StartInfo {
  job: ShJob;
  /** A barrier: it runs alone and dumps the state it leaves. */
  barrier: boolean;
  /** `$?` when it starts. */
  status: number;
  errexit: boolean;
  /**
   * The shell may exit on its own (`set -u`, `${x?}`): the job records
   * whether it got to its end, and an exit stops the script.
   */
  probe: boolean;
}

/** How many waiting jobs that cannot start one scan looks past. */
const LOOKAHEAD = 256;

/** What one scan of the sequence has seen so far (see `ShPlan.startable`). */
interface Scan {
  room: number;
  /** The jobs to start, over every scan of one `startable`. */
  out: StartInfo[];
  errexit: boolean;
  /** `set -e` or `set -u`: any job may end the script. */
  mayStop: boolean;
  /** Variables a `for` not yet resolved will set. */
  pending: Set<string>;
  /** What the nodes before, not ended, may touch. */
  unfinished: Access[];
  /** An earlier job may end the script on its own (`${x?}`). */
  stopRisk: boolean;
  /** Every node before has ended. */
  allDone: boolean;
  /** Waiting jobs passed that could not start. */
  blocked: number;
}

/** What a scan does after a node: go on, stop there, or start again (the sequence changed). */
type ScanStep = "next" | "stop" | "rescan";

/**
 * The plan.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { ShPlan } from "./plan.ts";
 * import { initialState } from "./state.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("sort a > a.s\nsort b > b.s\n");
 * const plan = new ShPlan(r, { state: initialState("/tmp", {}), argv0: "x.sh" });
 * assertEquals(plan.startable(4).map((s) => s.job.name), ["1:sort", "2:sort"]);
 * ```
 */
export class ShPlan {
  /** Nodes not yet flushed, in script order. */
  private seq: SeqNode[] = [];
  private nextId = 1;
  private names = new Map<string, number>();
  /** The status of the last node flushed off the front. */
  private frontStatus = 0;
  private stateVersion = 0;
  /** Jobs running now. */
  running = 0;
  /** Ended jobs cancelled since the last `takeDropped`. */
  private dropped: ShJob[] = [];
  /** Set when the script stops early (exit, set -e): its exit status. */
  stopped?: number;
  /** The shell state after every state change so far. */
  state: ShState;
  private readonly functions: Set<string>;
  /** `PATH` when the script starts (`DeriveContext.initialPath`). */
  private readonly initialPath?: string;

  constructor(readonly parsed: ParseResult, readonly opts: ShPlanOptions) {
    this.state = opts.state;
    this.initialPath = opts.state.env.PATH;
    this.functions = new Set();
    for (const i of parsed.items) {
      walk(i.node, (n) => n.type === "func" && this.functions.add(n.name));
    }
    if (parsed.error) {
      // sh reads what jx's parser could not: what jx read before the error may be wrong too, so
      // the whole script runs as one sh, with jx's own output as sh's (nothing else runs).
      const whole = this.restJob(0);
      whole.background = true;
      this.seq = [whole];
      return;
    }
    const restAt = parsed.items.findIndex((i) =>
      i.bg || fallbackReason(i.node, false) !== undefined
    );
    const items = restAt < 0 ? parsed.items : parsed.items.slice(0, restAt);
    this.seq = items.flatMap((item, k) => this.expandItem(item, k));
    if (restAt >= 0) this.seq.push(this.restFrom(restAt));
  }

  /** Whether every node has ended (or the script stopped and nothing runs). */
  get finished(): boolean {
    return this.running === 0 &&
      (this.stopped !== undefined || this.seq.every((n) => n.state !== "waiting"));
  }

  /** The script's exit status once finished. */
  get exitStatus(): number {
    if (this.stopped !== undefined) return this.stopped;
    for (let i = this.seq.length - 1; i >= 0; i--) {
      const s = this.seq[i].status;
      if (s !== undefined) return s;
    }
    return this.frontStatus;
  }

  private name(line: number, node: ShNode): string {
    const base = `${line}:${commandWord(node)}`;
    const n = (this.names.get(base) ?? 0) + 1;
    this.names.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  }

  private job(node: ShNode, binds: Binds, cond: boolean): ShJob {
    const { text, open } = jobText(this.parsed, node);
    return {
      kind: "job",
      id: this.nextId++,
      name: this.name(node.span.line, node),
      line: node.span.line,
      text,
      ...(open ? { openEnd: true } : {}),
      node,
      binds,
      cond,
      rest: false,
      state: "waiting",
    };
  }

  /** The rest of the script from top-level item `k` on, as one job. */
  private restFrom(k: number): ShJob {
    const items = this.parsed.items;
    const rest = this.restJob(items[k].node.span.start);
    rest.background = items.slice(k).some((i) =>
      i.bg || fallbackReason(i.node, false)?.startsWith("&") === true
    );
    return rest;
  }

  /**
   * The nodes of top-level item `k`. One that runs a command whose name is
   * an expansion (`$c args`) is first a check, made once the variables of its
   * turn are known: a name jx cannot know, or one of a builtin whose effect
   * cannot be carried (`c=trap; $c 'rm t' EXIT`), makes the rest of the
   * script, from this item, one sh (`dynamicFallback`).
   */
  private expandItem(item: Item, k: number): SeqNode[] {
    if (!dynamicNames(item.node).length) return this.expand(item.node, new Map(), false);
    const why = `command name of line ${item.node.span.line} not known yet`;
    const wait = (): Access => ({ ...EMPTY(), barrier: true, why: [why] });
    return [this.ctl(item.node.span.line, wait, () => {
      const ctx = this.ctx(new Map(), new Set());
      if (dynamicFallback(item.node, this.parsed.src, ctx) === undefined) {
        return { nodes: this.expand(item.node, new Map(), false), status: 0 };
      }
      return { nodes: [this.restFrom(k)], status: 0, rest: true };
    }, { onReach: true })];
  }

  private restJob(start: number): ShJob {
    const src = this.parsed.src;
    const node: ShNode = {
      type: "simple",
      span: { start, end: src.length, line: lineOf(src, start), col: 1 },
      assigns: [],
      words: [],
      redirs: [],
    };
    const line = lineOf(src, start);
    const rest = this.parsed.heredocs.filter((h) => h.bodyStart >= start);
    const { text, open } = closeHeredocs(src, rest, src.slice(start));
    return {
      kind: "job",
      id: this.nextId++,
      name: `${line}:rest`,
      line,
      text,
      ...(open ? { openEnd: true } : {}),
      node,
      binds: new Map(),
      cond: false,
      rest: true,
      state: "waiting",
    };
  }

  private ctl(
    line: number,
    access: Ctl["access"],
    resolve: Ctl["resolve"],
    extra: Partial<Ctl> = {},
  ): Ctl {
    return {
      kind: "ctl",
      id: this.nextId++,
      line,
      atHead: false,
      access,
      state: "waiting",
      resolve,
      ...extra,
    };
  }

  /** The nodes of a list. */
  private expandList(items: Item[], binds: Binds, cond: boolean): SeqNode[] {
    return items.flatMap((i) => this.expand(i.node, binds, cond));
  }

  /** The nodes one command stands for. */
  private expand(node: ShNode, binds: Binds, cond: boolean): SeqNode[] {
    const hasRedirs = "redirs" in node && node.redirs.length > 0;
    switch (node.type) {
      case "andor":
        return this.expandAndOr(node, binds, cond);
      case "pipeline":
        return [this.job(node, binds, cond || node.bang)];
      case "group":
        if (hasRedirs) return [this.job(node, binds, cond)];
        return this.expandList(node.body, binds, cond);
      case "if":
        if (hasRedirs) return [this.job(node, binds, cond)];
        return this.expandIf(node, binds, cond);
      case "while":
      case "until":
        // getopts keeps its place inside a group of options (-ab) in the shell: the loop runs whole.
        if (hasRedirs || hasLoopJump(node.body) || calls([...node.cond, ...node.body], "getopts")) {
          return [this.job(node, binds, cond)];
        }
        return this.expandLoop(node, binds, cond);
      case "for":
        if (hasRedirs || hasLoopJump(node.body) || !node.words) {
          return [this.job(node, binds, cond)];
        }
        return this.expandFor(node, node.words, binds, cond);
      case "func": {
        const text = nodeText(this.parsed, node);
        return [this.ctl(node.span.line, EMPTY, () => {
          this.state.functions.set(node.name, text);
          this.stateVersion++;
          return { nodes: [], status: 0 };
        }, { atHead: true })];
      }
      case "simple":
      case "case":
      case "subshell":
        return [this.job(node, binds, cond)];
      default: {
        const _assertNever: never = node;
        return _assertNever;
      }
    }
  }

  /** `a && b || c`: the first, then a control node that picks what runs after it by its status. */
  private expandAndOr(node: NodeOf<"andor">, binds: Binds, cond: boolean) {
    const rest = (from: number): Ctl =>
      this.ctl(
        node.span.line,
        this.lazyUnion(node.rest.slice(from).map((r) => r.node), binds),
        (prev) => {
          for (let k = from; k < node.rest.length; k++) {
            const { op, node: next } = node.rest[k];
            if ((op === "&&") === (prev === 0)) {
              const last = k === node.rest.length - 1;
              const nodes = this.expand(next, binds, last ? cond : true);
              if (!last) nodes.push(rest(k + 1));
              return { nodes, status: prev };
            }
          }
          return { nodes: [], status: prev };
        },
      );
    return [...this.expand(node.first, binds, true), rest(0)];
  }

  /** `if`: the first condition, then a control node per clause that picks the branch. */
  private expandIf(node: NodeOf<"if">, binds: Binds, cond: boolean): SeqNode[] {
    const decide = (k: number): Ctl => {
      const c = node.clauses[k];
      const later = [
        ...c.body.map((i) => i.node),
        ...node.clauses.slice(k + 1).flatMap((d) => [...d.cond, ...d.body].map((i) => i.node)),
        ...(node.otherwise ?? []).map((i) => i.node),
      ];
      return this.ctl(node.span.line, this.lazyUnion(later, binds), (prev) => {
        if (prev === 0) return { nodes: this.expandList(c.body, binds, cond), status: prev };
        if (k + 1 < node.clauses.length) {
          const d = node.clauses[k + 1];
          return {
            nodes: [...this.expandList(d.cond, binds, true), decide(k + 1)],
            status: prev,
          };
        }
        if (node.otherwise) {
          return { nodes: this.expandList(node.otherwise, binds, cond), status: prev };
        }
        return { nodes: [], status: 0 };
      });
    };
    return [...this.expandList(node.clauses[0].cond, binds, true), decide(0)];
  }

  /** `while`/`until`: the condition, then a control node per turn; the body's status is kept. */
  private expandLoop(
    node: NodeOf<"while" | "until">,
    binds: Binds,
    cond: boolean,
  ): SeqNode[] {
    const line = node.span.line;
    const inner = [...node.cond, ...node.body].map((i) => i.node);
    const loop = { bodyStatus: 0 };
    const turn = (): Ctl =>
      this.ctl(line, this.lazyUnion(inner, binds), (prev) => {
        if ((node.type === "while") !== (prev === 0)) {
          return { nodes: [], status: loop.bodyStatus };
        }
        const capture = this.ctl(line, EMPTY, (p) => {
          loop.bodyStatus = p;
          return { nodes: [], status: p };
        });
        return {
          nodes: [
            ...this.expandList(node.body, binds, cond),
            capture,
            ...this.expandList(node.cond, binds, true),
            turn(),
          ],
          status: prev,
        };
      });
    return [...this.expandList(node.cond, binds, true), turn()];
  }

  /**
   * `for NAME in WORDS`: unfolded now when the words are plain, else once what comes before has
   * ended (their values known then); a run of one job when a value is a pattern or splits.
   */
  private expandFor(
    node: NodeOf<"for">,
    words: Word[],
    binds: Binds,
    cond: boolean,
  ): SeqNode[] {
    const line = node.span.line;
    const lits = words.map((w) => literalOf(w));
    const plain = lits.every((l) => l !== undefined && !/[*?[]/.test(l));
    const unfold = (values: string[]): SeqNode[] => {
      if (!values.length) return [];
      let last: Binding = { value: "", live: false };
      const nodes: SeqNode[] = values.flatMap((value) => {
        last = { value, live: true };
        return this.expandList(node.body, new Map([...binds, [node.name, last]]), cond);
      });
      nodes.push(this.ctl(line, EMPTY, (prev) => {
        // The last turn's value, unless the state has the variable since (the body set it).
        if (last.live) this.setVar(node.name, last.value);
        const outer = binds.get(node.name);
        if (outer) outer.live = false;
        return { nodes: [], status: prev };
      }, { atHead: true, setsVar: node.name }));
      return nodes;
    };
    if (plain) {
      const nodes = unfold(lits as string[]);
      return nodes.length ? nodes : [this.ctl(line, EMPTY, () => ({ nodes: [], status: 0 }))];
    }
    return [this.ctl(line, this.lazyUnion([node], binds), (prev) => {
      const ctx = this.ctx(binds, new Set());
      const values: string[] = [];
      for (const w of words) {
        const v = resolveWord(w, ctx.resolve);
        if (!v || v.glob || /[\s]/.test(v.value)) {
          return { nodes: [this.job(node, binds, cond)], status: prev };
        }
        values.push(v.value);
      }
      return { nodes: unfold(values), status: 0 };
    }, { atHead: true, setsVar: node.name })];
  }

  /** The union of what `nodes` may touch, derived when asked with the state of then. */
  private lazyUnion(nodes: ShNode[], binds: Binds): Ctl["access"] {
    let cached: Access | undefined;
    let version = -1;
    return (pending) => {
      if (cached && version === this.stateVersion && !pending.size) return cached;
      const a = EMPTY();
      const ctx = this.ctx(binds, pending);
      for (const n of nodes) {
        const b = jobAccess(n, this.parsed.src, ctx);
        a.reads.push(...b.reads);
        a.writes.push(...b.writes);
        a.all ||= b.all;
        a.barrier ||= b.barrier || b.fallback;
        if (n.type === "func") a.barrier = true;
      }
      cached = a;
      version = pending.size ? -1 : this.stateVersion;
      return a;
    };
  }

  private setVar(name: string, value: string): void {
    if (name in this.state.env) this.state.env[name] = value;
    else this.state.vars.set(name, value);
    this.stateVersion++;
  }

  /** Variables as known now: bound by a `for`, set by the script, the environment, `$0`, `$1`... */
  private ctx(binds: Binds, pending: Set<string>): DeriveContext {
    const s = this.state;
    return {
      functions: this.functions,
      initialPath: this.initialPath,
      resolve: (name) => {
        const bound = binds.get(name);
        if (bound?.live) return bound.value;
        if (pending.has(name)) return undefined;
        if (name === "0") return this.opts.argv0;
        if (/^[1-9]$/.test(name)) return s.positional[Number(name) - 1];
        if (name === "#") return String(s.positional.length);
        if (!/^[A-Za-z_]/.test(name)) return undefined;
        if (s.vars.has(name)) return s.vars.get(name);
        if (name in s.env) return s.env[name];
        return undefined;
      },
    };
  }

  /** A job's access with the state of now. */
  private accessOf(job: ShJob, pending: Set<string>): Access {
    if (job.access && job.accessVersion === this.stateVersion && !pending.size) return job.access;
    let a: Access;
    if (job.rest) {
      a = { ...EMPTY(), barrier: true, why: ["the rest of the script runs as one sh"] };
    } else {
      a = jobAccess(job.node, this.parsed.src, this.ctx(job.binds, pending));
      if (a.fallback) a.barrier = true;
    }
    job.access = a;
    job.accessVersion = pending.size ? -1 : this.stateVersion;
    return a;
  }

  /**
   * The jobs that can start now, at most `room` of them, marked running;
   * control nodes whose turn has come are resolved on the way.
   */
  startable(room: number): StartInfo[] {
    const out: StartInfo[] = [];
    if (this.stopped !== undefined) return out;
    const errexit = this.state.options.includes("e");
    // Any job may end the script (set -e, set -u): one that writes waits for all before it.
    const mayStop = errexit || this.state.options.includes("u");
    const fresh = (): Scan => ({
      room,
      out,
      errexit,
      mayStop,
      pending: new Set(),
      unfinished: [],
      stopRisk: false,
      allDone: true,
      blocked: 0,
    });
    // A control node resolved puts its nodes in the sequence: scan again from the start.
    while (this.scan(fresh()) === "rescan");
    return out;
  }

  /** One pass over the sequence, in order, until something stops it. */
  private scan(sc: Scan): "rescan" | "done" {
    for (let i = 0; i < this.seq.length; i++) {
      const n = this.seq[i];
      if (n.state === "done" && n.kind === "job" && n.stopStatus !== undefined) break;
      if (n.state === "done" || n.state === "cancelled") continue;
      const step = n.kind === "ctl" ? this.scanCtl(n, i, sc) : this.scanJob(n, i, sc);
      if (step === "rescan") return step;
      if (step === "stop") break;
    }
    return "done";
  }

  /** A control node: resolved if its turn has come, else what it may touch is unfinished. */
  private scanCtl(n: Ctl, i: number, sc: Scan): ScanStep {
    if (n.onReach && this.stopped === undefined) {
      // Its turn has come once every variable is known; nothing after it has started.
      if (sc.pending.size) return "stop";
      const { nodes, rest } = n.resolve(0);
      this.seq.splice(i, rest ? this.seq.length - i : 1, ...nodes);
      return "rescan";
    }
    const prevDone = i === 0 || this.seq[i - 1].state === "done";
    if ((n.atHead ? sc.allDone : prevDone) && this.stopped === undefined) {
      const prev = i === 0 ? this.frontStatus : this.seq[i - 1].status ?? 0;
      const { nodes, status } = n.resolve(prev);
      n.state = "done";
      n.status = status;
      this.seq.splice(i + 1, 0, ...nodes);
      return "rescan";
    }
    const ca = n.access(sc.pending);
    if (n.setsVar) sc.pending.add(n.setsVar);
    sc.unfinished.push(ca);
    sc.allDone = false;
    return ca.barrier ? "stop" : "next";
  }

  /** A running job is unfinished; a waiting one starts if nothing before it is in its way. */
  private scanJob(n: ShJob, i: number, sc: Scan): ScanStep {
    if (mayExit(n)) sc.stopRisk = true;
    if (n.state === "running") {
      sc.unfinished.push(n.access!);
      sc.allDone = false;
      return n.access!.barrier ? "stop" : "next";
    }
    if (sc.out.length >= sc.room) return "stop";
    const a = this.accessOf(n, sc.pending);
    const barrier = a.barrier || a.fallback;
    const ok = this.mayStart(n, a, barrier, sc);
    if (ok) this.start(n, i, barrier, sc);
    sc.unfinished.push(a);
    sc.allDone = false;
    if (barrier) return "stop";
    // Far enough: what lies beyond is considered when these have moved on.
    if (!ok && ++sc.blocked >= LOOKAHEAD) return "stop";
    return "next";
  }

  /** Whether waiting job `n` (access `a`) may start with what `sc` has seen before it. */
  private mayStart(n: ShJob, a: Access, barrier: boolean, sc: Scan): boolean {
    // Its prelude must hold the value of a variable a `for` sets before it.
    if (sc.pending.size && mentionsAny(n.text, sc.pending)) return false;
    if (barrier && !sc.allDone) return false;
    if ((sc.mayStop || sc.stopRisk) && !sc.allDone && (a.all || a.writes.length || barrier)) {
      return false;
    }
    return !sc.unfinished.some((u) => conflicts(u, a, this.state.cwd));
  }

  /** Marks `n` running and adds what starting it needs to `sc.out`. */
  private start(n: ShJob, i: number, barrier: boolean, sc: Scan): void {
    n.state = "running";
    n.errexit = sc.errexit && !n.cond;
    this.running++;
    const prev = !barrier ? 0 : i === 0 ? this.frontStatus : this.seq[i - 1].status ?? 0;
    const probe = !barrier && (this.state.options.includes("u") || mayExit(n));
    sc.out.push({ job: n, barrier, status: prev, errexit: n.errexit, probe });
  }

  /**
   * Records the end of a job: its exit status and, for a barrier, the text
   * of its state dump. A job that ends the script (`exit`, a failure under
   * `set -e`) stops it once every earlier job has ended (`takeFlushable`).
   */
  finish(job: ShJob, status: number, dump?: string): void {
    this.running--;
    if (job.state === "cancelled") return;
    job.state = "done";
    job.status = status;
    if (this.stopped !== undefined) return;
    if (dump?.startsWith("x ") && !dump.includes("\n")) {
      job.stopStatus = Number(dump.slice(2));
      return;
    }
    if (dump?.startsWith("c ") && !dump.includes("\n")) dump = undefined;
    else if (dump !== undefined || job.access?.barrier) {
      const d = dump === undefined ? undefined : parseDump(dump, this.state);
      if (!d || d.exited || job.rest) {
        // It exited (exit, set -e, a signal) or could not tell: the script ends here.
        job.stopStatus = d ? d.status : status;
        job.status = job.stopStatus;
        return;
      }
      this.state = d.state;
      this.stateVersion++;
      forgetLinks();
      // Its prelude set the variables of the loops around it: the state holds them now.
      for (const b of job.binds.values()) b.live = false;
    } else if (job.access?.all) forgetLinks();
    // It may have made, changed or removed a symbolic link where it wrote.
    else if (job.access?.links) forgetLinks(writtenPaths(job.access, this.state.cwd));
    if (status !== 0 && job.errexit) job.stopStatus = status;
  }

  private stop(job: ShJob, status: number): void {
    this.stopped = status;
    const at = this.seq.indexOf(job);
    // Everything after it is dropped, also what ran ahead and has ended.
    this.cancelFrom(at + 1);
  }

  /** Jobs cancelled while running (to be killed). */
  cancelledRunning(): ShJob[] {
    return this.seq.filter((n): n is ShJob => n.kind === "job" && n.state === "cancelled");
  }

  /**
   * Takes the ended jobs at the front, in script order: their output can be
   * printed now. Cancelled jobs are dropped.
   */
  takeFlushable(): ShJob[] {
    const out: ShJob[] = [];
    let k = 0;
    while (k < this.seq.length) {
      const n = this.seq[k];
      if (n.state === "done") {
        if (n.kind === "job") out.push(n);
        this.frontStatus = n.status ?? this.frontStatus;
        k++;
        if (n.kind === "job" && n.stopStatus !== undefined && this.stopped === undefined) {
          this.stop(n, n.stopStatus);
        }
      } else if (n.state === "cancelled") k++;
      else break;
    }
    if (k) this.seq.splice(0, k);
    return out;
  }

  /**
   * The rest of the script, run as one sh, when it runs now: it is then the
   * script's own shell (every job before it has ended, none follows it).
   */
  runningRest(): ShJob | undefined {
    const n = this.seq.find((n) => n.kind === "job" && n.rest && n.state === "running");
    return n?.kind === "job" ? n : undefined;
  }

  /** The job whose output may go straight out (every earlier one has been printed). */
  head(): ShJob | undefined {
    const n = this.seq[0];
    return n?.kind === "job" && n.state === "running" ? n : undefined;
  }

  /**
   * Marks every node from the first unfinished one on cancelled (on a
   * signal): also jobs after it that ran ahead and ended, whose output is
   * dropped.
   */
  cancelAll(status: number): void {
    this.stopped = status;
    const at = this.seq.findIndex((n) => n.state === "waiting" || n.state === "running");
    if (at >= 0) this.cancelFrom(at);
  }

  /** Marks the nodes from `at` on cancelled; ended jobs among them go to `takeDropped`. */
  private cancelFrom(at: number): void {
    for (let i = at; i < this.seq.length; i++) {
      const n = this.seq[i];
      if (n.kind === "job" && n.state === "done") this.dropped.push(n);
      if (n.state !== "cancelled") n.state = "cancelled";
    }
  }

  /** Jobs that had ended when they were cancelled: their held output is to be dropped. */
  takeDropped(): ShJob[] {
    return this.dropped.splice(0);
  }
}

/** Special builtins that are not barriers: an error in their redirections or expansions exits sh. */
const SPECIAL_PLAIN = new Set([":", "times"]);

/**
 * Whether a job's shell may exit on its own: `${x?}`, an arithmetic
 * expansion (`$((1/0))`), a special builtin whose redirection or expansion
 * fails (`: > /nonexistent/x`).
 */
function mayExit(job: ShJob): boolean {
  if (job.exitRisk === undefined) {
    let risk = /\$\{[^}]*\?|\$\(\(/.test(job.text);
    if (!risk) {
      walk(job.node, (n) => {
        if (n.type !== "simple" || !n.words.length) return;
        const w = literalOf(n.words[0]);
        if (w === undefined || !SPECIAL_PLAIN.has(w)) return;
        if (n.redirs.length || n.words.some((x) => literalOf(x) === undefined)) risk = true;
      });
    }
    job.exitRisk = risk;
  }
  return job.exitRisk;
}

/** Whether `text` mentions `$NAME` or `${NAME` for one of `names`. */
function mentionsAny(text: string, names: Set<string>): boolean {
  if (!names.size) return false;
  const arith = arithmetics(text);
  for (const n of names) {
    // `$v`, `${v...}`, `${#v}`, and `v` inside `$((...))`.
    if (new RegExp(`\\$\\{?#?${n}\\b`).test(text)) return true;
    if (arith.some((x) => new RegExp(`\\b${n}\\b`).test(x))) return true;
  }
  return false;
}

/** Whether a loop body uses `break` or `continue` (then the loop runs whole). */
function hasLoopJump(items: Item[]): boolean {
  return calls(items, "break", "continue");
}

/** Whether a command of `items` (or inside them) is one of `names`. */
function calls(items: Item[], ...names: string[]): boolean {
  let found = false;
  for (const i of items) {
    walk(i.node, (n) => {
      if (n.type !== "simple" || !n.words.length) return;
      const w = literalOf(n.words[0]);
      if (w !== undefined && names.includes(w)) found = true;
    });
  }
  return found;
}

/**
 * Whether `node` calls getopts outside a `while`/`until` loop (such a loop
 * runs as one job): each call would start in a new shell, which forgets its
 * place inside a group of options (`-ab` gives `a`, then `a` again...).
 */
function getoptsOutsideLoop(node: ShNode): boolean {
  const loops: ShNode[] = [];
  const calls: ShNode[] = [];
  walk(node, (n) => {
    if (n.type === "while" || n.type === "until") loops.push(n);
    else if (n.type === "simple" && n.words[0] && literalOf(n.words[0]) === "getopts") {
      calls.push(n);
    }
  });
  return calls.some((c) =>
    !loops.some((l) => l.span.start <= c.span.start && c.span.end <= l.span.end)
  );
}

/** The command word a job is named after. */
export function commandWord(node: ShNode): string {
  switch (node.type) {
    case "simple": {
      const w = node.words[0];
      if (!w) return node.assigns.length ? "assign" : "redirect";
      const l = literalOf(w);
      return l !== undefined && /^[\w.\[:/+-]+$/.test(l)
        ? l.slice(l.lastIndexOf("/") + 1) || l
        : "cmd";
    }
    case "pipeline":
      return commandWord(node.cmds[0]);
    case "andor":
      return commandWord(node.first);
    case "group":
      return "group";
    case "if":
    case "while":
    case "until":
    case "for":
    case "case":
    case "subshell":
    case "func":
      return node.type;
    default: {
      const _assertNever: never = node;
      return _assertNever;
    }
  }
}

function lineOf(src: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (src[i] === "\n") n++;
  return n;
}

/**
 * Why jx cannot run `node` (and what follows) command by command, or
 * undefined when it can: a builtin whose effect outlives one `sh -c`
 * (`exec`, `trap`, `alias`, `eval`, `.`, `set -x`...), `$!`, `cmd &`, a
 * function defined inside another command.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { fallbackReason } from "./plan.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(fallbackReason(parseScript("trap 'rm -f t' EXIT\n").items[0].node, false), "trap");
 * ```
 */
export function fallbackReason(node: ShNode, nested: boolean): string | undefined {
  let why: string | undefined;
  const visit = (n: ShNode, inner: boolean) => {
    if (why) return;
    if (n.type === "func") {
      if (inner) why = `function ${n.name} defined inside another command`;
      else visitBody(n.body);
      return;
    }
    if (itemLists(n).some((l) => l.some((i) => i.bg))) {
      why = "& (a background job)";
      return;
    }
    if (n.type === "simple") {
      const text = [...n.words, ...n.assigns, ...n.redirs.map((r) => r.target)].map((w) => w.text)
        .join(" ");
      if (/\$!|\$\{!\}/.test(text)) why = "$! (background jobs)";
      const w = n.words[0] && literalOf(n.words[0]);
      if (w === undefined) return;
      if (FALLBACK_BUILTINS.has(w)) why = w;
      if (w === "set") {
        const bad = n.words.slice(1).find((a) => {
          const l = literalOf(a);
          return l === undefined || (/^[-+]/.test(l) && l !== "--" && !/^[-+][eufaC]+$/.test(l));
        });
        if (bad && !n.words.slice(1, n.words.indexOf(bad)).some((a) => literalOf(a) === "--")) {
          why = `set ${bad.text}`;
        }
      }
      if (w === "unset" && n.words.some((a) => literalOf(a) === "-f")) why = "unset -f";
      // The script's own process is one job's shell under jx: a signal to it must reach the rest.
      const self = (a: Word) => /\$\$|\$\{\$\}/.test(a.text) || /^-?0$/.test(literalOf(a) ?? "");
      if (w === "kill" && n.words.slice(1).some(self)) {
        why = "kill $$ or 0 (the script's own shell)";
      }
      if (w === "command" && !["-v", "-V"].includes(literalOf(n.words[1] ?? n.words[0]) ?? "")) {
        why = "command";
      }
    }
  };
  const visitBody = (body: ShNode) => walk(body, (m) => m !== body && visit(m, true));
  walk(node, (n) => visit(n, nested || n !== node));
  if (!why && getoptsOutsideLoop(node)) why = "getopts outside a while loop";
  return why;
}

/** The simple commands of `node` whose name is an expansion, outside function bodies. */
function dynamicNames(node: ShNode): NodeOf<"simple">[] {
  const bodies: ShNode[] = [];
  const out: NodeOf<"simple">[] = [];
  walk(node, (n) => {
    if (n.type === "func") bodies.push(n);
    if (n.type !== "simple" || !n.words.length || literalOf(n.words[0]) !== undefined) return;
    if (!bodies.some((f) => f.span.start <= n.span.start && n.span.end <= f.span.end)) out.push(n);
  });
  return out;
}

/**
 * Why the commands of `node` whose name is an expansion cannot run as jobs,
 * with the variables `ctx` knows before `node` runs and those `node` itself
 * may give them (`nameResolvers`): a name it cannot resolve, or one of a
 * builtin jx leaves to sh (`trap`, `exec`, `set -x`...); undefined when they can.
 */
function dynamicFallback(node: ShNode, src: string, ctx: DeriveContext): string | undefined {
  for (const n of dynamicNames(node)) {
    const unknown = `command name ${n.words[0].text} not known`;
    const resolvers = nameResolvers(n, node, src, ctx);
    if (!resolvers) return unknown;
    for (const resolve of resolvers) {
      const name = resolveWord(n.words[0], resolve);
      if (!name || name.glob) return unknown;
      if (deriveAccess(n, src, { ...ctx, resolve }).fallback) return name.value;
    }
  }
  return undefined;
}

/**
 * The variables the name of command `n` may be expanded with, inside top-level
 * command `item`, checked before any of `item` runs: one resolver per
 * possible set of values. A variable `item` sets is known only as the
 * variable of a `for` over plain words (`for c in gzip xz; do $c f; done`:
 * each of its words, and the value before the loop where `n` is outside
 * it); set any other way (`c=trap; $c ...`, `read c`, a function of the
 * script, `set --` for `$1`), or by a `for` over other words, the name is
 * not known (undefined).
 */
function nameResolvers(
  n: NodeOf<"simple">,
  item: ShNode,
  src: string,
  ctx: DeriveContext,
): Resolver[] | undefined {
  const text = src.slice(item.span.start, item.span.end);
  if (callsFunction(item, ctx.functions)) return undefined;
  const params = n.words[0].parts.filter((p) => p.kind === "param");
  const names = new Set(params.map((p) => p.name));
  if (params.some((p) => !p.quoted)) names.add("IFS");
  let resolvers: Resolver[] = [ctx.resolve];
  for (const v of names) {
    if (!/^[A-Za-z_]/.test(v)) {
      if (/\b(set|shift)\b/.test(text)) return undefined;
      continue;
    }
    const turns = loopValues(item, v, text);
    if (!turns) return undefined;
    if (!turns.loops.length) continue;
    const inside = turns.loops.some((l) =>
      l.span.start <= n.span.start && n.span.end <= l.span.end
    );
    const values = inside ? turns.values : [undefined, ...turns.values];
    resolvers = resolvers.flatMap((r) =>
      values.map((x): Resolver => x === undefined ? r : (name) => name === v ? x : r(name))
    );
  }
  return resolvers;
}

/**
 * The `for` loops of `item` over variable `v` and the values they give it,
 * or undefined when `item` may set `v` otherwise: `v` appears in `text` as a
 * bare word (`v=`, `read v`, `unset v`, `$((v+=1))`...) or in an assignment
 * of an expansion (`${v:=x}`) beyond the loops' own, or a loop's words are
 * not plain.
 */
function loopValues(item: ShNode, v: string, text: string) {
  const loops: NodeOf<"for">[] = [];
  walk(item, (m) => m.type === "for" && m.name === v && loops.push(m));
  const bare = text.match(new RegExp(`(?<![\\w$]|\\$\\{#?)${v}\\b`, "g"))?.length ?? 0;
  if (bare !== loops.length || new RegExp(`\\$\\{${v}:?=`).test(text)) return undefined;
  const values: string[] = [];
  for (const l of loops) {
    const lits = (l.words ?? []).map((w) => literalOf(w));
    if (!l.words || lits.some((x) => x === undefined || /[*?[]/.test(x))) return undefined;
    values.push(...lits as string[]);
  }
  return { loops, values };
}

/** Whether `node` calls a function the script defines (it may set any variable). */
function callsFunction(node: ShNode, functions: Set<string>): boolean {
  let found = false;
  walk(node, (m) => {
    if (m.type !== "simple" || !m.words.length) return;
    const w = literalOf(m.words[0]);
    if (w !== undefined && functions.has(w)) found = true;
  });
  return found;
}

/** The lists of items directly inside a node. */
function itemLists(n: ShNode): Item[][] {
  switch (n.type) {
    case "if":
      return [...n.clauses.flatMap((c) => [c.cond, c.body]), n.otherwise ?? []];
    case "while":
    case "until":
      return [n.cond, n.body];
    case "for":
    case "group":
    case "subshell":
      return [n.body];
    case "case":
      return n.bodies;
    case "simple":
    case "pipeline":
    case "andor":
    case "func":
      return [];
    default: {
      const _assertNever: never = n;
      return _assertNever;
    }
  }
}
