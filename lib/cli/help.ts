/**
 * Help texts for `jx --help` and `jx COMMAND --help`.
 *
 * @module
 */
import { didYouMean, usageError } from "../runtime/errors.ts";
import { COMMANDS, takesOption } from "./args.ts";
import { VERSION } from "../runtime/version.ts";

export { VERSION };

const COMMON = `Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
      --all              every job, whatever the jobs file's default: names
  -j, --jobs N           job slots (default: number of CPUs)
  -k, --keep-going       run everything that does not depend on a failure
  -n, --dry-run          print what would run, in order; run nothing
      --force            run jobs even when they are up to date
      --no-wait          fail instead of waiting for another run in this directory
      --output MODE      buffered (default) | stream | quiet
      --events FILE      write NDJSON events
      --trace FILE       write a Chrome trace (open it in Perfetto)
      --reactor KIND     auto | epoll | portable
      --jobserver-style STYLE   the pool jx makes: auto | pipe | fifo | none
      --executor KIND    where jobs run: local (default) | slurm (docs/executors.md)
      --no-color         no colors, in jx's output and jobs' (NO_COLOR too)
  -v, --verbose          say more`;

/** COMMON's lines of the options `command` takes (`jx watch` has no `-n`, no `--executor`). */
function commonFor(command: string): string {
  return COMMON.split("\n").filter((line) => {
    const long = /^\s+(?:-\w, )?(--[\w-]+)/.exec(line)?.[1];
    return !long || takesOption(command, long);
  }).join("\n");
}

/** `--ui` of run and watch (docs/ui.md). */
const UI_OPTS = `Live page:
      --ui               serve the jx ui page live (address on stderr; docs/ui.md)
      --ui-port N        its port (default: any free one); implies --ui`;

const CACHE_OPTIONS =
  `Output cache (off unless the jobs file has cache: or a store is named; docs/cache.md):
      --cache-dir DIR    the local store (JX_CACHE_DIR; default ~/.cache/jx)
      --remote-cache URL   turbo+http://HOST:PORT?team=NAME or bazel+http://HOST:PORT[/PREFIX]
      --remote-cache-read-only   restore from the remote store, never upload
      --no-cache         no cache for this run`;

/** Help per command. */
export const HELP: Record<string, string> = {
  "": `jx ${VERSION}: run a graph of jobs, as fast as the machine allows

Usage:
  jx run [-f FILE] [JOB...] [NAME=VALUE...]   run jobs and what they need
  jx list [-f FILE]                           jobs and modules, with descriptions
  jx graph [-f FILE] [--format dot|mermaid|json|html]   the derived graph, edges with reasons
  jx ui [-f FILE] [--port N]                  a local web page: the graph, explain (docs/ui.md)
  jx explain [-f FILE] JOB                    why JOB would run (or is up to date)
  jx clean [-f FILE] [-n] [--deps] [JOB...]   remove what the jobs' writes name
  jx watch [-f FILE] [JOB...]                 run, then rerun what each change affects
  jx exec [-j N] -- COMMAND [ARG...]          run one command under a pool of N job slots
  jx sh [-n] [-j N] SCRIPT [ARG...]           run a shell script, its commands in parallel when safe
  jx lint [-f FILE] [JOB...]                  run jobs under strace: what they touch undeclared
  jx cache stats|prune|clear                  the local output cache's store (docs/cache.md)
  jx ctl ACTION [ARGS]                        control a running jx run (modules, publish)
  jx init [-f FILE]                           write a starter jobs.yaml here
  jx completions bash|zsh|fish                print a shell completion script
  jx doctor                                   runtime, reactor, jobserver, make/ninja/strace found
  jx --version | jx --help | jx COMMAND --help

${COMMON}

Exit codes: 0 ok, 1 a job failed, 2 usage error or invalid jobs file,
130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (131: SIGQUIT).

Examples:
  jx run                      run the jobs in jobs.yaml (its default: ones, if it names any)
  jx run -j4 test CC=gcc      run 'test' and what it needs, 4 at a time, a var set
  jx run -n                   show the order, run nothing
  jx graph --format mermaid   the graph, for a Markdown page
`,
  run: `Usage: jx run [-f FILE] [JOB...] [NAME=VALUE...]
       jx run [-f FILE] JOB -- ARG...

Runs the named jobs (default: the jobs file's default:, else all jobs) and
everything they need. Jobs start as soon as what they wait for has ended, up
to -j at once. After a failure no new job starts (use -k to keep going).
Modules the jobs need are started first and stopped at the end; a module
named here stays up in the foreground until Ctrl-C (see docs/modules.md and
jx ctl --help).
After --, the words are one job's arguments: its run string sees them as $1,
$2... ($0 is the job's name, as always), a run list gets them appended.

${COMMON}
      --changed-since REF  only the jobs that read files git reports changed
                         since REF (and untracked ones), and what depends on them

${UI_OPTS}
Checking declarations (docs/lint.md):
      --check-access     trace each job that runs; report what it reads or
                         writes without declaring it (exit status unchanged)
      --strict           as --check-access, and any finding fails the run (exit 1)
${CACHE_OPTIONS}

Examples:
  jx run
  jx run -f build.yaml -j8 link
  jx run --output stream --events events.ndjson
  jx run --strict             in CI: fail on an undeclared read or write
  jx run OUT=dist test
  jx run --ui                 the run live in a browser (open the printed address)
  jx run --cache-dir /ci/jx-cache      restore what an earlier run stored
  jx run deploy -- staging
  jx run --changed-since origin/main test
`,
  list: `Usage: jx list [-f FILE] [--names]

Lists jobs and modules with their descriptions. With --names, prints only
their names, one per line (jobs, then modules), for scripts and completions.

Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
      --names            names only, one per line

Examples:
  jx list -f jobs.yaml.example
  jx list --names | xargs -n1 jx explain
`,
  init: `Usage: jx init [-f FILE]

Writes a starter jobs file (default: jobs.yaml in the current directory) that
runs as is: a step that makes the output folder, two that write a header
each and run together, one that reads what they wrote, and a test. Its first
line points editors at the JSON schema of jobs files, which init writes beside
it as jobs.schema.json (commit both). init never overwrites: if the file (or
a jobs.yml beside a jobs.yaml, which would take its place), or a
jobs.schema.json that is not jx's, exists, it exits 2 and changes nothing.

Options:
  -f, --file FILE        the file to write (default: jobs.yaml)

Examples:
  jx init && jx run
  jx init -f build.yaml && jx graph -f build.yaml --format mermaid
`,
  completions: `Usage: jx completions bash|zsh|fish

Prints a completion script for the shell: commands, options (after a
command, only those it takes; the values of those with a few choices), files
after -f, the names of jobs, foreach groups and modules, and jx ctl's actions
and module names. The script gets the names by running jx completions names
(jx completions modules after a ctl action) with the -f FILE already typed,
else from the jobs file jx run would find: one name a line.

Options:
  -f, --file FILE        the jobs file whose names jx completions names prints

Examples:
  source <(jx completions bash)                          # bash, this session
  jx completions bash > ~/.local/share/bash-completion/completions/jx
  jx completions zsh > "\${fpath[1]}/_jx"                # zsh, then: compinit
  jx completions fish > ~/.config/fish/completions/jx.fish
`,
  graph: `Usage: jx graph [-f FILE] [--format dot|mermaid|json|html] [JOB...]

Prints the derived graph; every edge carries its reason: needs, if/unless,
or the resource conflict (writes out/gen.h -> reads out/*.h).

Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
      --format FORMAT    graph format: dot (default) | mermaid | json | html

Examples:
  jx graph | dot -Tsvg > graph.svg
  jx graph --format json | jq '.edges[]'
  jx graph --format html > graph.html   # the jx ui page, one file, works offline
`,
  clean: `Usage: jx clean [-f FILE] [-n] [--deps] [--no-wait] [JOB...]

Removes the files that the named jobs' (default: all jobs') writes name, not
those of the jobs they wait for (--deps: those too); -n lists them without
removing anything. A foreach job's name names all of its jobs. It waits for a
jx run or jx watch in the directory to end (it holds the run lock meanwhile).

Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
  -n, --dry-run          list what would be removed; remove nothing
      --deps             also the outputs of every job the named jobs wait for
      --no-wait          fail instead of waiting for another run in this directory

Examples:
  jx clean -n
  jx clean --deps link
`,
  explain: `Usage: jx explain [-f FILE] JOB

Says why JOB would run (which input changed, with old and new hashes; a new
or vanished file; a changed command, environment or variable; a missing or
modified output) or that it is up to date, and what it waits for. With the
output cache on (cache: in the file, --cache-dir, JX_CACHE_DIR, a remote),
also the job's cache key, its parts and, when the store has no entry for it,
which parts differ from the job's last stored key.

Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
      --cache-dir DIR    the local store whose entries to look up (JX_CACHE_DIR)
      --remote-cache URL   a remote store to look up too (JX_REMOTE_CACHE)
      --no-cache         no cache lines, whatever the jobs file or the environment say

Example:
  jx explain link
  jx explain --cache-dir /ci/jx-cache link
`,
  watch:
    `Usage: jx watch [-f FILE] [JOB...] [--debounce 100ms] [--on-busy restart|queue|ignore] [--poll]
       jx watch [-f FILE] JOB -- ARG...   (one job, given ARGs at every run)

Runs the jobs, then watches every path their reads match and reruns exactly
the jobs a change affects (and what depends on them), until Ctrl-C.

Watch options:
      --debounce TIME    wait this long after a change before a run (default 100ms)
      --on-busy MODE     a change during a run: restart (default) | queue | ignore
      --poll             poll for changes instead of inotify

${commonFor("watch")}

${UI_OPTS}

Examples:
  jx watch
  jx watch test --on-busy queue
  jx watch test -- -k parser
  jx watch --poll --debounce 300ms
`,
  exec: `Usage: jx exec [-j N] [--jobserver-style pipe|fifo] [--] COMMAND [ARG...]

Runs one command under a fresh GNU make jobserver pool of N job slots: the
command gets MAKEFLAGS naming the pool, so every make, gcc -flto=jobserver,
cargo or ninja it starts shares the N slots. Exits with the command's exit
code, or dies of the signal that killed it, and prints nothing of its own.
SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to the command's process group.
Processes the command leaves in its process group when it exits (sh -c
'server &') get SIGTERM, then SIGKILL after 5s, with a warning; start one
that is to outlive jx in a session of its own (setsid).
On a terminal the command is its foreground job, as under a shell: it can open
/dev/tty, and Ctrl-C and Ctrl-Z reach it from the terminal.
Each make the command starts directly also has its own implicit slot: two
started side by side by a shell run at most N+1 jobs (see docs/make.md).

Options:
  -j, --jobs N           job slots in the pool (default: number of CPUs)
      --jobserver-style STYLE   pipe (default: R,W fds) | fifo (fifo:PATH)
      --no-color         no CLICOLOR_FORCE/FORCE_COLOR for the command (NO_COLOR too)

Examples:
  jx exec -j8 -- make
  jx exec -j8 -- sh -c 'make -C a & make -C b & wait'
`,
  sh:
    `Usage: jx sh [-n] [-j N] [--events FILE] [--trace FILE] [--check-access|--strict] SCRIPT [ARG...]
       jx sh [OPTIONS] -s [ARG...]    (or a lone -: the script from stdin, as sh -s)

Runs a plain POSIX shell script as sh would, with its commands in parallel
where that is safe. Each top-level command is a job; what it reads and
writes comes from its redirections (<, >, >>) and the arguments of commands
whose file use is known (cat, grep, sort, wc, head, tail, cut, diff, cmp,
md5sum, gzip -c, cp, mv, rm, mkdir...). A job waits for earlier jobs that
write what it reads or read or write what it writes. Assignments, cd,
export, set, exit, function calls, and anything jx cannot resolve are
barriers: they run alone, and the state they leave is carried to the jobs
after them. Programs jx does not know may touch any file: they wait for
everything before them. &&, ||, if, while, until and for run the branch
taken once the test has ended. trap, exec, eval, alias and set -x make the
rest of the script run as one sh. Output appears in script order; the exit
status is sh's. See docs/sh.md.

Options:
  -n, --dry-run          print the derived graph (reads, writes, barriers, waits); run nothing
  -j, --jobs N           jobs at once (default: number of CPUs)
  -s                     read the script from stdin, all of it first; the words after are $1...
      --events FILE      write NDJSON events (jobs are named LINE:COMMAND)
      --trace FILE       write a Chrome trace
      --reactor KIND     auto | epoll | portable
      --check-access     trace each command; report a file it read or wrote
                         that jx sh did not derive (its order may be wrong)
      --strict           as --check-access, and a finding fails the script (exit 1)
      --no-color         no CLICOLOR_FORCE/FORCE_COLOR for the commands (NO_COLOR too)
  -v, --verbose          with --check-access: also derived paths never touched

Examples:
  jx sh build.sh
  jx sh -n build.sh
  curl -fsSL https://example.com/install.sh | jx sh -s -- --prefix ~/.local
  jx sh -j8 --events ev.ndjson convert.sh in/ out/
  jx sh --strict build.sh     in CI: fail when a command touches what jx sh did not derive
`,
  doctor: `Usage: jx doctor

Prints what this jx will use here, one "name  value" line each: its version
and runtime, the reactor auto picks, the jobserver (styles, and the pool of a
make that runs jx), how watch sees changes, how up-to-date checks stat files,
the make and ninja found on PATH, whether /usr/bin/setsid or /bin/setsid is
there (the portable reactor's, whatever PATH says), and the strace on PATH
(jx lint's). It changes nothing. Also jx --version --verbose.

Example:
  jx doctor
`,
  ctl: `Usage: jx ctl ACTION [ARGS]

Talks to a running jx run through its control socket: JX_CTL (set in every
job's and module's environment), else .jx/ctl.sock beside the jobs file
(-f FILE, or the current directory).

Actions:
  status [--json]                 every job's and module's state
  start MODULE...                 start a stopped or failed module; waits until it is ready
  stop [--drain] MODULE...        stop (--drain: deliver its queued messages, close its
                                  stdin, then stop: a poison pill)
  restart MODULE...               stop, then start
  pause MODULE...                 SIGSTOP its process group; its messages are queued
  resume MODULE...                SIGCONT, then the queued messages, in order
  publish TOPIC MESSAGE...        one line, "TOPIC MESSAGE", on the stdin of every
                                  module subscribed to TOPIC

Options:
  -f, --file FILE        the jobs file whose .jx/ holds the socket
      --json             print the reply as JSON (status: every job and module)
      --drain            with stop: a poison pill (queued messages first, then stop)

Exit codes: 0 done, 1 refused (the reason on stderr) or no jx running there,
2 usage error.

Examples:
  jx ctl status --json | jq '.modules[] | {name, state}'
  jx ctl pause db && jx ctl resume db
  jx ctl publish reload "config changed"
`,
};

/**
 * The help text on `topic` (a command, or "" for jx itself); a topic that is
 * no command is a usage error (`jx help nosuch`: exit 2), not general help.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(helpText("run").startsWith("Usage: jx run"), true);
 * ```
 */
export function helpText(topic: string): string {
  if (topic in HELP) return HELP[topic];
  if (topic === "help" || COMMANDS.includes(topic)) return HELP[""];
  throw usageError("help", `unknown command '${topic}'${didYouMean(topic, COMMANDS)}`);
}
