/**
 * What the commands that run jobs share (`jx run`, `jx watch`): finding and
 * loading the jobs file, the run lock, and the job slots, resolved once
 * into one object.
 *
 * @module
 */
import { statSync } from "node:fs";
import process from "node:process";
import { findJobsFile, type Graph, loadJobsFile } from "../graph/mod.ts";
import { JxInputError } from "../graph/errors.ts";
import { createJobserver, joinJobserver, parseMakeFlags } from "../jobserver/mod.ts";
import type { Reactor } from "../reactor/mod.ts";
import { writeAll } from "../runtime/mod.ts";
import { LocalSlots, type Slots } from "../scheduler/mod.ts";
import { tryLock } from "../state/mod.ts";
import type { Args } from "./args.ts";
import { wantedJobs } from "./slots.ts";

/** Picks the jobs file: `-f`, a positional that names a YAML file, or jobs.yaml/jobs.yml. */
export function jobsFile(args: Args): string {
  if (args.file) return args.file;
  const first = args.names[0];
  if (first && /\.ya?ml(\.example)?$/.test(first)) {
    try {
      if (statSync(first).isFile()) {
        args.names.shift();
        return first;
      }
    } catch { /* a job name after all */ }
  }
  const found = findJobsFile(process.cwd());
  if (!found) {
    throw new JxInputError("no jobs.yaml or jobs.yml here (use -f FILE, or jx init to write one)");
  }
  return found;
}

/** Loads the jobs file the arguments name. */
export function load(args: Args): Graph {
  return loadJobsFile(jobsFile(args), { vars: args.vars });
}

/** Takes `.jx/lock`, waiting (with a message) for another run unless `noWait`. */
export async function takeLock(baseDir: string, noWait: boolean): Promise<{ release(): void }> {
  let said = false;
  for (;;) {
    const got = tryLock(baseDir);
    if (typeof got !== "number") return got;
    if (noWait) {
      throw new JxInputError(
        `another jx run is using ${baseDir}/.jx (pid ${got}); not waiting (--no-wait)`,
      );
    }
    if (!said) writeAll(2, `jx: waiting for another jx run in this directory (pid ${got})...\n`);
    said = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The job slots of a run, resolved once: `-j` (else the CPU count), an
 * inherited make jobserver, `--jobserver-style`. Everything downstream reads
 * `slots` (its `limit`, its `role`, each job's MAKEFLAGS through `jobEnv`).
 */
export interface SlotSetup {
  /** make's pool (client), a pool jx serves (server), or a plain counter. */
  slots: Slots;
  /** The `n` and `k` flags of the make that runs jx. */
  makeDryRun: boolean;
  makeKeepGoing: boolean;
  /** Counts a pool's tokens at the end: a warning, or undefined. */
  finish(): string | undefined;
}

/**
 * Chooses the job slots: make's pool when MAKEFLAGS carries one (client),
 * else a pool jx creates for its jobs (server), else a plain counter.
 */
export function setUpSlots(args: Args, reactor: Reactor, warn: (w: string) => void): SlotSetup {
  const mf = parseMakeFlags(process.env);
  const jobs = wantedJobs(args);
  const counter = (n: number, fromMake: boolean): SlotSetup => ({
    slots: new LocalSlots(n),
    makeDryRun: fromMake && mf.dryRun,
    makeKeepGoing: fromMake && mf.keepGoing,
    finish: () => undefined,
  });
  const pool = (slots: Slots & { finish(): string | undefined }, fromMake: boolean) => ({
    slots,
    makeDryRun: fromMake && mf.dryRun,
    makeKeepGoing: fromMake && mf.keepGoing,
    finish: () => slots.finish(),
  });
  const canUse = !!reactor.watch;
  if (mf.auth) {
    if (!canUse) {
      warn(`cannot join make's jobserver with the ${reactor.name} reactor; running with -j${jobs}`);
      return counter(jobs, true);
    }
    if (args.jobs !== undefined) {
      warn(`-j${args.jobs} ignored: using the jobserver of the make that runs jx`);
    }
    const joined = joinJobserver(mf.auth, mf.jobs ?? jobs, reactor);
    if (typeof joined === "string") {
      warn(`${joined}; using -j1`);
      return counter(1, true);
    }
    return pool(joined, true);
  }
  if (args.jobserverStyle === "none" || !canUse) return counter(jobs, false);
  const style = args.jobserverStyle === "fifo" ? "fifo" : "pipe";
  return pool(createJobserver(jobs, style, reactor), false);
}
