/**
 * `jx watch`: run, then rerun exactly what a file change makes out of date.
 *
 * Changes come from inotify (through the reactor) or, with `--poll`, from a
 * periodic scan. They are debounced; the jobs whose `reads` match a changed
 * path, and everything that depends on them, form the next cycle's
 * selection, and up-to-date checks inside it give early cutoff. jx never
 * triggers itself: `.jx/` and `.git/` are ignored, and so are the paths its
 * own jobs write during a cycle.
 *
 * @module
 */
import {
  escapeGlob,
  type GlobMatcher,
  globToRegExp,
  isGlob,
  namedByAny,
  namesAnyOf,
  patternsOverlap,
} from "../graph/glob.ts";
import { depfileInputs } from "../graph/depfile.ts";
import type { Graph } from "../graph/graph.ts";
import type { JobSpec } from "../graph/types.ts";
import type { Reactor } from "../reactor/types.ts";
import type { RunControl, RunResult } from "../scheduler/run.ts";
import type { ListenSignal } from "../reactor/types.ts";
import { lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { expand, listRaw, stamp } from "../state/fileset.ts";
import { escapeControls } from "../runtime/mod.ts";
import { type FsEvent, Inotify } from "./inotify.ts";

/** What to do with a change that arrives while a cycle runs. */
export type OnBusy = "restart" | "queue" | "ignore";

/** Settings of a watch session. */
export interface WatchOptions {
  graph: Graph;
  /** The selected jobs (and what they need). */
  selected: JobSpec[];
  baseDir: string;
  reactor: Reactor;
  debounceMs: number;
  onBusy: OnBusy;
  /** Scan for changes every `pollMs` instead of using inotify. */
  poll: boolean;
  pollMs?: number;
  /**
   * Runs one cycle over `jobs`; `control.stop` ends it early on a signal, `control.cancel` when a
   * change restarts it (`--on-busy restart`).
   */
  runCycle(
    jobs: JobSpec[],
    changed: string[],
    control: RunControl,
  ): Promise<CycleResult>;
  /** One line for people. */
  say(line: string): void;
  /**
   * The jobs file, the files it includes and the dotenv files, relative to
   * `baseDir`: a change to one calls `onOwnFile` at once (it starts no cycle
   * by itself), rather than being found when the next change starts one.
   */
  ownFiles?: string[];
  /**
   * The `foreach` globs the graph was expanded from (relative to `baseDir`): their folders are
   * watched, and an event on a path one matches calls `onOwnFile` (its items may have changed).
   */
  ownGlobs?: string[];
  onOwnFile?(): void;
  /**
   * The session's `--events` and `--trace` files (relative to `baseDir`): jx writes them in
   * every cycle, so a change to one is never a change (a read glob matching one made a cycle
   * per cycle, for ever).
   */
  runLogs?: string[];
  /** What the first cycle's line says started it (default `first run`). */
  startedBy?: string;
}

/**
 * A cycle's result, and the modules it started (or restarted), by name, in the order they were;
 * and `changedWhileRan`: inputs of its jobs (relative to `baseDir`) that changed while the job
 * ran, so that it runs again (the state's record says so). A header a depfile lists for the first
 * time is in a folder that may not have been watched then: no event may have come for its edit.
 */
export type CycleResult = RunResult & { modulesStarted?: string[]; changedWhileRan?: string[] };

const IGNORED = /^(\.jx|\.git)(\/|$)/;

/** The jobs a cycle's line names (then how many ran). */
const SHOWN_RAN = 10;

/** The directories to watch so that every path `patterns` can name is seen. */
export function dirsToWatch(patterns: string[], baseDir: string): { dir: string; deep: boolean }[] {
  const out = new Map<string, boolean>();
  const add = (dir: string, deep: boolean) =>
    out.set(dir || ".", (out.get(dir || ".") ?? false) || deep);
  for (const p of patterns) {
    if (p[0] === "@") continue;
    const segs = p.split("/");
    const lit = segs.findIndex((s) => isGlob(s));
    if (lit >= 0) {
      // A glob: its literal head, deep when more than one segment follows.
      add(segs.slice(0, lit).join("/"), segs.length - lit > 1 || p.includes("**"));
      continue;
    }
    const st = stamp(baseDir, p);
    if (st === null && isDirectory(baseDir, p)) add(p, true);
    add(segs.slice(0, -1).join("/"), false);
  }
  return [...out].map(([dir, deep]) => ({ dir, deep }));
}

function isDirectory(baseDir: string, p: string): boolean {
  try {
    return statSync(`${baseDir}/${p}`).isDirectory();
  } catch {
    return false;
  }
}

/**
 * For a read path `p` that is a symbolic link: the links it leads through (`conf.txt ->
 * links/cur -> v1/c.txt`: `links/cur`, each as its folder's real path has it), then the file it
 * points to at last, relative to `base` (the base folder's real path); undefined when `p` is no
 * link. Each one's folder is watched: a link on the way pointed elsewhere is an edit of `p`.
 * Throws when one is gone (a link to nothing).
 */
function linkHops(baseDir: string, base: string, p: string): string[] | undefined {
  const start = `${baseDir}/${p}`;
  if (!lstatSync(start).isSymbolicLink()) return undefined;
  const hops: string[] = [];
  let at = start;
  // `at` is a link at each turn (one lstat a hop: the test of the next turn is this one's).
  for (let i = 0; i < 40; i++) {
    at = resolve(realpathSync(dirname(at)), readlinkSync(at));
    if (!lstatSync(at).isSymbolicLink()) break;
    hops.push(relative(base, at));
  }
  hops.push(relative(base, realpathSync(start)) || ".");
  return hops;
}

function subdirs(baseDir: string, dir: string, out: string[]): void {
  eachEntry(baseDir, dir, true, (p, kind) => kind === "dir" && out.push(p));
}

/**
 * Calls `f` with each entry of the folder `dir` (relative to `baseDir`), and
 * with `deep` of every folder below it, skipping `.jx`, `.git` and
 * `node_modules`; a folder that cannot be read is passed over. A name that is not UTF-8 is
 * its bytes (`listRaw`): a folder so named is watched too (the runtime's name for it, with
 * U+FFFD, is no folder's), as the events inotify gives name it.
 */
function eachEntry(
  baseDir: string,
  dir: string,
  deep: boolean,
  f: (path: string, kind: string) => void,
): void {
  let entries: { name: string; kind: string }[];
  try {
    entries = listRaw(dir === "." ? baseDir : `${baseDir}/${dir}`);
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === ".jx" || e.name === ".git" || e.name === "node_modules") continue;
    const p = dir === "." ? e.name : `${dir}/${e.name}`;
    f(p, e.kind);
    if (deep && e.kind === "dir") eachEntry(baseDir, p, deep, f);
  }
}

/**
 * Runs a watch session until `stop` is called (on SIGINT/SIGTERM by the CLI).
 *
 * @example
 * ```ts
 * import { Watcher } from "./watch.ts";
 * // new Watcher({ graph, selected, baseDir, reactor, debounceMs: 100, onBusy: "restart",
 * //   poll: false, runCycle, say: console.log }).start();
 * ```
 */
export class Watcher {
  private pending = new Set<string>();
  private debounce?: number;
  private cycle?: {
    jobs: Set<string>;
    changed: string[] | "all";
    control: RunControl;
    done: Promise<CycleResult>;
    /** Stopped for a restart already (`--on-busy restart`). */
    restarting?: boolean;
  };
  /** The changes of a cycle that was restarted: its jobs run again in the next one. */
  private carry: string[] | "all" = [];
  private ignoreWritesUntil = 0;
  /** With polling: the scan after a cycle is to be made (`next`), or is being made (`now`). */
  private ownScan?: "next" | "now";
  private inotify?: Inotify;
  private pollTimer?: number;
  private pollStamps = new Map<string, string>();
  private stopped = false;
  private resolveDone!: () => void;
  /** Resolves when the session has stopped and its last cycle has ended. */
  readonly done: Promise<void> = new Promise((r) => this.resolveDone = r);
  private readPatterns: string[];
  /** The jobs whose last cycle did not end ok (failed, cancelled, skipped for a failure). */
  private unfinished = new Set<string>();
  /**
   * The jobs a cycle stopped before they ended, on no fault of theirs (not started after another
   * job's failure, without `-k`): each later cycle runs them, as `jx run` would.
   */
  private notStarted = new Set<string>();
  private watchedDeep: Set<string> = new Set();
  /** The read paths the running cycle's jobs wrote (`ownWrite`). */
  private ownWrites = new Set<string>();

  /**
   * Each job's reads, with its dotenv files and what its depfile lists now: those are paths,
   * whatever characters they hold, so each is here as a pattern that names exactly itself
   * (`escapeGlob`: `x[12].h` as `x[[]12].h`, not a glob matching `x1.h`).
   */
  private reads = new Map<string, string[]>();

  /** The files the graph was made from (see `WatchOptions.ownFiles`). */
  private ownFiles: Set<string>;
  /** The `foreach` globs (see `WatchOptions.ownGlobs`), as patterns and as expressions. */
  private ownGlobs: string[];
  private ownGlobRes: GlobMatcher[];
  private startedBy: string;

  constructor(private o: WatchOptions) {
    this.readPatterns = this.refreshReads();
    this.ownFiles = new Set(o.ownFiles ?? []);
    this.ownGlobs = o.ownGlobs ?? [];
    this.ownGlobRes = this.ownGlobs.map((g) => globToRegExp(g));
    this.startedBy = o.startedBy ?? "first run";
  }

  /** Reads `reads` again (a depfile changes with each compile); the patterns of them all. */
  private refreshReads(): string[] {
    for (const j of this.o.selected) {
      const deps = j.depfile ? depfileInputs(this.o.baseDir, j.depfile, j.cwd) ?? [] : [];
      const paths = [...j.envFiles ?? [], ...deps].map(escapeGlob);
      this.reads.set(j.name, paths.length ? [...j.reads, ...paths] : j.reads);
    }
    return [...new Set([...this.reads.values()].flat())];
  }

  private readsOf(j: JobSpec): string[] {
    return this.reads.get(j.name) ?? j.reads;
  }

  /** Runs the first cycle, then starts watching. */
  start(): void {
    if (!this.o.poll) this.inotify = this.openInotify();
    if (!this.inotify) {
      this.scan(true);
      this.pollTimer = this.o.reactor.setTimer(this.o.pollMs ?? 300, () => this.pollTick());
    } else {
      this.addWatches();
      // A jobs file that is a link: the folder of the file it points to too.
      this.followLinks([...this.linksInReads(), ...this.ownFiles]);
    }
    this.startCycle(this.o.selected, [], "all");
  }

  /**
   * An inotify instance, or undefined (said once) when the system gives none
   * (the per-user limit of instances, `fs.inotify.max_user_instances`, is
   * reached): the session then polls.
   */
  private openInotify(): Inotify | undefined {
    try {
      return new Inotify(
        this.o.baseDir,
        this.o.reactor,
        (evs) => this.onFsEvents(evs),
        (dir) => this.full(dir),
      );
    } catch (e) {
      this.o.say(
        `jx watch: warning: no inotify (${(e as Error).message}): watching by polling every ` +
          `${this.o.pollMs ?? 300}ms (raise fs.inotify.max_user_instances, or use --poll)`,
      );
      return undefined;
    }
  }

  /**
   * Stops watching; a running cycle is stopped with `signal` (a second signal: at once), or,
   * without one, left to end (or cancelled: `cancelCycle`).
   */
  stop(signal?: ListenSignal): void {
    // A second stop: the running cycle kills its jobs now, without their grace.
    if (this.stopped) return signal && this.cycle?.control.stop?.(signal);
    this.stopped = true;
    if (this.debounce !== undefined) this.o.reactor.clearTimer(this.debounce);
    if (this.pollTimer !== undefined) this.o.reactor.clearTimer(this.pollTimer);
    this.inotify?.close();
    if (this.cycle) {
      if (signal) this.cycle.control.stop?.(signal);
      this.cycle.done.then(() => this.resolveDone(), () => this.resolveDone());
    } else this.resolveDone();
  }

  /**
   * What a Ctrl-Z stops of the running cycle, if one runs: its jobs' and
   * modules' process groups (`RunControl.suspend`).
   */
  get cycleSuspend(): ((stopped: boolean) => void) | undefined {
    return this.cycle?.control.suspend;
  }

  /** Whether `stop` was called: the watch is ending (its last cycle may still run). */
  get stopping(): boolean {
    return this.stopped;
  }

  /**
   * Stops the running cycle as a change does with `--on-busy restart`: cancelled (its jobs get
   * their grace; not a signal's `interrupted`).
   */
  cancelCycle(): void {
    this.cycle?.control.cancel?.();
  }

  /** Watches the folders of the reads and of the graph's own files (see `dirsToWatch`). */
  private addWatches(): void {
    const patterns = [...this.readPatterns, ...this.ownFiles, ...this.ownGlobs];
    for (const { dir, deep } of dirsToWatch(patterns, this.o.baseDir)) {
      // A directory that does not exist yet: watch its nearest existing ancestor.
      let d = dir;
      while (!this.inotify!.add(d) && d !== ".") {
        d = d.includes("/") ? d.slice(0, d.lastIndexOf("/")) : ".";
      }
      if (deep && d === dir) {
        this.watchedDeep.add(dir);
        const subs: string[] = [];
        subdirs(this.o.baseDir, dir, subs);
        for (const s of subs) this.inotify!.add(s);
      }
      this.watchLinksOnWay(d);
    }
  }

  /**
   * A link on the way to watched folder `dir` (itself included): its parent
   * is watched too, so that the link pointed elsewhere (`ln -sfn`) is seen
   * (`Inotify.linksOnWay`); the watch of `dir` follows the folder it led to.
   */
  private watchLinksOnWay(dir: string): void {
    for (let at = dir; at !== "."; at = at.includes("/") ? at.slice(0, at.lastIndexOf("/")) : ".") {
      let link = false;
      try {
        link = lstatSync(`${this.o.baseDir}/${at}`).isSymbolicLink();
      } catch { /* gone meanwhile */ }
      if (!link || this.inotify!.linksOnWay.has(at)) continue;
      this.inotify!.linksOnWay.add(at);
      this.inotify!.add(at.includes("/") ? at.slice(0, at.lastIndexOf("/")) : ".");
    }
  }

  /**
   * The read files that are symbolic links: an edit of the file a link points to is made in the
   * folder of that file, which no pattern may watch (a link out of the project, or into a folder
   * no job reads). That folder is watched too, and its events count as the link's (`links`).
   * `paths` are looked at (after each cycle: the paths it changed or its jobs wrote), each that is
   * a link followed.
   */
  private followLinks(paths: Iterable<string>): void {
    let base: string;
    try {
      base = realpathSync(this.o.baseDir);
    } catch {
      return;
    }
    let changed = false;
    for (const p of paths) {
      let hops: string[] | undefined;
      try {
        hops = linkHops(this.o.baseDir, base, p);
      } catch { /* gone, or a link to nothing */ }
      if (hops?.length === 1 && hops[0] === p) hops = undefined;
      const key = hops?.join("\0");
      if (this.linkTargets.get(p) === key) continue;
      changed = true;
      if (hops === undefined) this.linkTargets.delete(p);
      else {
        this.linkTargets.set(p, key!);
        for (const h of hops) this.inotify!.add(dirname(h));
      }
    }
    if (!changed) return;
    this.links.clear();
    for (const [p, key] of this.linkTargets) {
      for (const t of key.split("\0")) this.links.set(t, [...this.links.get(t) ?? [], p]);
    }
  }

  /** The read paths, and the symbolic links in the folders the reads' globs and folders walk. */
  private linksInReads(): string[] {
    const out: string[] = [];
    const walk = (dir: string, match: (p: string) => boolean, deep: boolean) =>
      eachEntry(this.o.baseDir, dir, deep, (p, kind) => kind === "link" && match(p) && out.push(p));
    for (const r of this.readPatterns) {
      if (r[0] === "@") continue;
      if (!isGlob(r)) {
        out.push(r);
        if (isDirectory(this.o.baseDir, r)) walk(r, () => true, true);
        continue;
      }
      const segs = r.split("/");
      const lit = segs.findIndex((x) => isGlob(x));
      const re = globToRegExp(r);
      walk(segs.slice(0, lit).join("/") || ".", (p) => re.test(p), segs.length - lit > 1);
    }
    return out;
  }

  /**
   * Each read path that is a symbolic link: the links it leads through and the file it points to
   * (`linkHops`), relative to the base folder, joined by NUL.
   */
  private linkTargets = new Map<string, string>();
  /** The same, by target: the paths an event on a target counts as. */
  private links = new Map<string, string[]>();

  /**
   * Notes the reads at or below the folder `dir` whose watch ended (deleted,
   * or moved away): what its files were is not known here, and a folder moved
   * away sends no event for each of them, as a deletion does.
   */
  private noteUnder(dir: string): void {
    // A glob whose literal head is above the folder (`src/**/*.txt` for `src/d1`) may have
    // matched files in it too: noted as itself, as one below the folder is.
    const below = `${escapeGlob(dir)}/**`;
    for (const j of this.o.selected) {
      for (const r of this.readsOf(j)) {
        if (r[0] === "@") continue;
        if (r === dir || r.startsWith(`${dir}/`) || (isGlob(r) && patternsOverlap(r, below))) {
          this.note(r);
        }
      }
    }
  }

  /** Says once that the system's limit of inotify watches left `dir` (and maybe more) unwatched. */
  private full(dir: string): void {
    if (this.saidFull) return;
    this.saidFull = true;
    this.o.say(
      `jx watch: warning: the system's limit of inotify watches is reached ` +
        `(fs.inotify.max_user_watches): changes in ${escapeControls(dir)} and any folder ` +
        "not watched yet go unseen; raise the limit, or use --poll",
    );
  }

  private saidFull = false;

  /**
   * Whether `path` is a folder on the way to a path a read (or the graph's own file or glob)
   * names, or that path itself: the literal heads of the patterns, and each folder above them.
   */
  private onWay(path: string): boolean {
    if (this.way?.of !== this.readPatterns) {
      const dirs = new Set<string>();
      for (const p of [...this.readPatterns, ...this.ownFiles, ...this.ownGlobs]) {
        if (p[0] === "@") continue;
        const segs = p.split("/");
        const lit = segs.findIndex((x) => isGlob(x));
        const head = lit < 0 ? segs : segs.slice(0, lit);
        for (let i = 1; i <= head.length; i++) dirs.add(head.slice(0, i).join("/"));
      }
      this.way = { of: this.readPatterns, dirs };
    }
    return this.way.dirs.has(path);
  }
  private way?: { of: string[]; dirs: Set<string> };

  private onFsEvents(evs: FsEvent[]): void {
    let rewatch = false;
    for (const e of evs) {
      const links = this.links.get(e.path) ?? [];
      // A folder made, deleted or moved may hold one of the graph's own files (stat each: cheap).
      // A path a `foreach` glob matches: its items may have changed.
      const own = [e.path, ...links].some((p) => this.ownFiles.has(p)) ||
        this.ownGlobRes.some((re) => re.test(e.path));
      if (own || e.dir || e.gone || e.overflow) this.o.onOwnFile?.();
      if (e.overflow) {
        for (const j of this.o.selected) for (const r of this.readsOf(j)) this.note(r);
        rewatch = true; // the events of a new directory may be among those lost
        continue;
      }
      // A link to a folder made on the way to a read (`ln -s real lnk` for `lnk/x.txt`): its
      // event is not a folder's, but the folder it leads to is to be watched, its files noted.
      if (e.dir || (this.onWay(e.path) && isDirectory(this.o.baseDir, e.path))) rewatch = true;
      if (e.gone) {
        this.noteUnder(e.path); // moved away (`mv src src.old`): no event names its files
        continue;
      }
      this.note(e.path);
      for (const link of links) this.note(link);
    }
    if (rewatch) this.rewatch();
  }

  /**
   * Watches the directories that appeared, and the paths whose watch ended
   * (through their nearest existing ancestor until they appear again). What
   * a directory held before its watch began made no event: each entry of a
   * newly watched directory counts as changed, and the watches are looked at
   * again until none is new (a directory may have appeared inside an
   * ancestor before the ancestor's watch began).
   */
  private rewatch(): void {
    const seen = new Set(this.inotify!.dirs());
    for (;;) {
      this.addWatches();
      const fresh = this.inotify!.dirs().filter((d) => !seen.has(d));
      if (!fresh.length) return;
      for (const d of fresh) {
        seen.add(d);
        this.noteEntries(d);
      }
      // A new folder's files came before its watch did: one may be the graph's own (an included
      // file made again with its folder) or a graph glob's new match.
      this.o.onOwnFile?.();
    }
  }

  private noteEntries(dir: string): void {
    let names: string[];
    try {
      names = listRaw(dir === "." ? this.o.baseDir : `${this.o.baseDir}/${dir}`).map((e) => e.name);
    } catch {
      return; // deleted since: the end of its watch comes as an event
    }
    for (const n of names) this.note(dir === "." ? n : `${dir}/${n}`);
  }

  /**
   * A read path the cycle's jobs wrote: looked at once the cycle ends (or
   * now, for an event that comes after it), for a link to follow.
   */
  private ownWrite(path: string): void {
    if (!this.inotify) return;
    if (this.cycle) this.ownWrites.add(path);
    else this.followLinks([path]);
  }

  /**
   * Whether a read pattern names `path`; whether a job of the cycle (of the selection, between
   * cycles) writes it. Matchers made once per list (`namedByAny`), not a pass over every
   * pattern per event: a `touch src/*` of 4,000 files was 4,000 times 4,000.
   */
  private readsName(path: string): boolean {
    if (!this.readsMatch || this.readsMatch.of !== this.readPatterns) {
      this.readsMatch = { of: this.readPatterns, named: namedByAny(this.readPatterns) };
    }
    return this.readsMatch.named(path);
  }
  private readsMatch?: { of: string[]; named: (path: string) => boolean };
  private writesName(path: string): boolean {
    const jobs = this.cycle?.jobs;
    const of = jobs ?? this.o.selected;
    if (!this.writesMatch || this.writesMatch.of !== of) {
      const sel = this.o.selected.filter((j) => jobs?.has(j.name) ?? true);
      this.writesMatch = { of, named: namedByAny(sel.flatMap((j) => j.writes)) };
    }
    return this.writesMatch.named(path);
  }
  private writesMatch?: { of: unknown; named: (path: string) => boolean };

  /**
   * The modules' `log:` files (relative to `baseDir`): jx appends to them
   * whenever a module prints, within a cycle or not (a module that logs
   * each run's end beside a job reading its folder made a cycle per cycle);
   * and the session's own logs (`runLogs`).
   */
  private moduleLogs?: Set<string>;

  /** Takes a changed path into the next cycle, unless jx wrote it itself. */
  private note(path: string): void {
    if (this.stopped || IGNORED.test(path)) return;
    if (!this.readsName(path)) return;
    this.moduleLogs ??= new Set(
      this.o.graph.jobs.flatMap((j) =>
        j.kind === "module" && j.log ? [relative(this.o.baseDir, j.log)] : []
      ).concat(this.o.runLogs ?? []),
    );
    if (this.moduleLogs.has(path)) return;
    const busy = this.cycle !== undefined || this.o.reactor.now() < this.ignoreWritesUntil ||
      this.ownScan === "now";
    if (busy) {
      if (this.writesName(path)) return this.ownWrite(path);
      if (this.cycle && this.o.onBusy === "ignore") return;
    }
    if (busy) this.echoes.add(path);
    this.pending.add(path);
    if (this.debounce !== undefined) this.o.reactor.clearTimer(this.debounce);
    this.debounce = this.o.reactor.setTimer(this.o.debounceMs, () => this.settled());
  }

  private settled(): void {
    this.debounce = undefined;
    if (this.stopped || !this.pending.size) return;
    if (this.cycle) {
      // Once per cycle (a cancel stops its jobs with their grace); not a signal: its run.end
      // says `cancelled`, not `interrupted`.
      if (this.o.onBusy === "restart" && this.cycle.control.cancel && !this.cycle.restarting) {
        this.carry = this.cycle.changed;
        this.cycle.restarting = true;
        this.cycle.control.cancel();
      }
      return; // the cycle's end picks the pending changes up
    }
    const carry = this.carry;
    this.carry = [];
    const changed = [...new Set([...this.pending, ...(carry === "all" ? [] : carry)])].sort();
    this.pending.clear();
    this.echoCheck(changed);
    if (carry === "all") return this.startCycle(this.o.selected, changed, "all");
    const hit = new Set<string>();
    const names = namesAnyOf(changed);
    for (const j of this.o.selected) {
      if (this.readsOf(j).some(names) || this.notStarted.has(j.name)) hit.add(j.name);
    }
    // Everything downstream of a hit job, within the selection; and what they need that did not
    // end ok in its last cycle (failed, or skipped for it): `jx run` would run it first, and its
    // dependents would not run on its stale or missing outputs.
    const chosen = new Set<string>();
    const inSel = new Set(this.o.selected.map((j) => j.name));
    for (let stack = [...hit]; stack.length;) {
      while (stack.length) {
        const n = stack.pop()!;
        if (chosen.has(n)) continue;
        chosen.add(n);
        for (const e of this.o.graph.dependentsOf(n)) if (inSel.has(e.to)) stack.push(e.to);
      }
      stack = this.unfinishedUpstream(chosen, inSel);
    }
    const jobs = this.o.selected.filter((j) => chosen.has(j.name));
    if (!jobs.length) return;
    this.startCycle(jobs, changed, changed);
  }

  /** The jobs of the selection that `jobs` need (at any depth) whose last cycle did not end ok. */
  private unfinishedUpstream(jobs: Set<string>, inSel: Set<string>): string[] {
    if (!this.unfinished.size) return [];
    const out: string[] = [], seen = new Set<string>();
    const stack = [...jobs];
    while (stack.length) {
      for (const e of this.o.graph.depsOf(stack.pop()!)) {
        if (seen.has(e.from) || !inSel.has(e.from)) continue;
        seen.add(e.from);
        stack.push(e.from);
        if (this.unfinished.has(e.from) && !jobs.has(e.from)) out.push(e.from);
      }
    }
    return out;
  }

  /**
   * Paths noted while a cycle ran (or its writes were still coming in) that no job of it declares
   * it writes, since the last cycle started; the jobs of that cycle.
   */
  private echoes = new Set<string>();
  private lastJobs?: Set<string>;
  /** Cycles in a row started only by `echoes` of the same paths, that the cycle before read. */
  private echo = { paths: "", n: 0, said: new Set<string>() };

  /**
   * A job that writes what it reads without `writes` saying so (`date >> src/log.txt`, reading
   * `src/*.txt`) starts the next cycle with each run, for ever: after three such cycles in a row,
   * said once (the cycles go on: a change is never dropped).
   */
  private echoCheck(changed: string[]): void {
    const last = this.lastJobs, names = namesAnyOf(changed), key = changed.join("\0");
    const echo = last !== undefined && changed.length > 0 &&
      changed.every((p) => this.echoes.has(p)) &&
      this.o.selected.some((j) => last.has(j.name) && this.readsOf(j).some(names));
    this.echoes.clear();
    this.echo.n = echo && key === this.echo.paths ? this.echo.n + 1 : echo ? 1 : 0;
    this.echo.paths = key;
    if (this.echo.n < 3 || this.echo.said.has(key)) return;
    this.echo.said.add(key);
    const shown = changed.slice(0, 3).map(escapeControls).join(", ");
    this.o.say(
      `jx watch: warning: ${shown}${changed.length > 3 ? ", ..." : ""} changed while the jobs ` +
        "that read it ran, 3 cycles in a row: if one of them writes it, list it in its `writes` " +
        "(else each run starts the next cycle)",
    );
  }

  private startCycle(jobs: JobSpec[], changed: string[], cause: string[] | "all"): void {
    const control: RunControl = {};
    const names = new Set(jobs.map((j) => j.name));
    this.lastJobs = names;
    this.echoes.clear();
    const t = this.o.reactor.now();
    // A read link pointed elsewhere: the folder it now leads to is watched before its jobs read
    // it (an edit there later in the cycle, once they had read it, went unseen).
    if (this.inotify && !this.stopped) this.followLinks(changed);
    const done = this.o.runCycle(jobs, changed, control);
    this.cycle = { jobs: names, changed: cause, control, done };
    done.then((r) => this.cycleEnded(r, changed, t)).catch((e) => this.failed(e));
  }

  /**
   * What ended the session other than `stop`: a cycle that threw (its output could not be
   * written: `jx watch | head -1`), for the caller to say, once the session has ended.
   */
  failure?: { error: unknown };

  /** A cycle threw: the session ends (its modules then stopped by the caller), with the error. */
  private failed(error: unknown): void {
    this.cycle = undefined;
    this.failure ??= { error };
    this.stop();
    this.resolveDone();
  }

  /** A cycle's end: what it left unfinished noted, its line said, the changes since picked up. */
  private cycleEnded(r: CycleResult, changed: string[], t: number): void {
    this.cycle = undefined;
    for (const [k, v] of r.results) {
      if (this.o.graph.byName.get(k)?.kind === "module") continue;
      const ended = v.status === "ok" ||
        (v.status === "skipped" && (v.reason === "up-to-date" || v.reason === "condition"));
      if (ended) this.unfinished.delete(k);
      else this.unfinished.add(k);
      const stopped = v.status === "cancelled" ||
        (v.status === "skipped" && v.reason === "cancelled");
      if (stopped) this.notStarted.add(k);
      else this.notStarted.delete(k);
    }
    // Polling sees a cycle's own writes up to a scan later: ignored until that scan has been
    // made, however late it comes (a big tree's scan, a loaded machine), not for a time.
    this.ignoreWritesUntil = this.o.reactor.now() + 50;
    if (!this.inotify) this.ownScan = "next";
    if (this.o.selected.some((j) => j.depfile)) {
      const before = new Set(this.readPatterns);
      this.readPatterns = this.refreshReads();
      if (this.inotify) this.addWatches();
      else this.stampNew(this.readPatterns.filter((p) => !before.has(p)));
    }
    // Inputs edited while their job ran: the job runs again, as `jx run` would run it next.
    const again = this.o.onBusy === "ignore" ? [] : r.changedWhileRan ?? [];
    for (const p of again) this.note(p);
    if (this.inotify && !this.stopped) {
      // The paths it changed, and those its jobs wrote (a link one of them made among the reads).
      this.followLinks(new Set([...changed, ...this.ownWrites]));
    }
    this.ownWrites.clear();
    this.o.say(this.cycleLine(r, changed, this.o.reactor.now() - t));
    if (this.stopped) return;
    if (this.pending.size && this.debounce === undefined) this.settled();
  }

  /** The line that ends a cycle: what changed, what ran, how it ended. */
  private cycleLine(r: CycleResult, changed: string[], ms: number): string {
    const ran = [...r.results]
      .filter(([k, v]) => v.status !== "skipped" && this.o.graph.byName.get(k)?.kind !== "module")
      .map(([k]) => k);
    const shown = changed.slice(0, 3).map(escapeControls).join(", ");
    const what = changed.length
      ? `${shown}${changed.length > 3 ? ", ..." : ""} changed`
      : this.startedBy;
    this.startedBy = "first run";
    // A cycle of thousands of jobs names the first few and counts them all.
    const shownRan = ran.slice(0, SHOWN_RAN).map(escapeControls).join(", ");
    const more = ran.length > SHOWN_RAN ? `, ... (${ran.length} jobs)` : "";
    // Nothing ran: up to date (ok), or stopped before anything started (a job waiting for a
    // module when a Ctrl-C came).
    // The modules it (re)started: a cycle that only restarted a server did something.
    const started = r.modulesStarted?.length
      ? `started ${r.modulesStarted.slice(0, SHOWN_RAN).map(escapeControls).join(", ")}`
      : "";
    const did = ran.length
      ? `${started && `${started}; `}ran ${shownRan}${more}`
      : started
      ? started
      : r.status === "ok"
      ? "nothing to do"
      : "nothing ran";
    // A signal stopped the session: it is not watching any more.
    const then = this.stopped ? "" : "; watching for changes";
    return `jx watch: ${what} -> ${did}: ${r.status} (${Math.round(ms)}ms)${then}`;
  }

  /** A file's size, mtime and inode, for polling (`-`: not there). */
  private pollStamp(p: string): string {
    const s = stamp(this.o.baseDir, p);
    return s ? `${s[0]}:${s[1]}:${s[2]}` : "-";
  }

  /**
   * Polling: the files of reads new since the last scan (a header a depfile lists now), as they
   * are: a file new to the reads is not a change (one edited while the cycle ran comes back as
   * `changedWhileRan`).
   */
  private stampNew(patterns: string[]): void {
    for (const p of expand(patterns, this.o.baseDir, true)) {
      if (!this.pollStamps.has(p)) this.pollStamps.set(p, this.pollStamp(p));
    }
  }

  /** One polling pass: compares size/mtime/inode of every file the reads name. */
  private scan(first = false): string[] {
    const now = new Map<string, string>();
    // A name that is not UTF-8 by its bytes (`x\xff.c`), as inotify gives it: the runtimes list
    // it with U+FFFD, the name of no file, never seen to change.
    for (const p of expand(this.readPatterns, this.o.baseDir, true)) now.set(p, this.pollStamp(p));
    const changed: string[] = [];
    if (!first) {
      for (const [p, v] of now) if (this.pollStamps.get(p) !== v) changed.push(p);
      for (const p of this.pollStamps.keys()) if (!now.has(p)) changed.push(p);
    }
    this.pollStamps = now;
    return changed;
  }

  private pollTick(): void {
    if (this.stopped) return;
    // A stat of each (no scan of their folders), and a walk of the `foreach` globs' folders;
    // first, as with inotify: a reload's timer is set before a cycle's (an item's file deleted
    // loads the graph again, rather than first running the item that is gone).
    if (this.ownFiles.size || this.ownGlobs.length) this.o.onOwnFile?.();
    // The first scan after a cycle: what the cycle's jobs wrote is theirs.
    if (this.ownScan === "next") this.ownScan = "now";
    for (const p of this.scan()) this.note(p);
    this.ownScan = undefined;
    this.pollTimer = this.o.reactor.setTimer(this.o.pollMs ?? 300, () => this.pollTick());
  }
}
