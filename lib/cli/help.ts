/**
 * Help texts for `jx --help` and `jx COMMAND --help`.
 *
 * @module
 */

/** The version printed by `jx --version`. */
export const VERSION = "0.1.0";

const COMMON = `Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml)
  -j, --jobs N           job slots (default: number of CPUs)
  -k, --keep-going       run everything that does not depend on a failure
  -n, --dry-run          print what would run, in order; run nothing
      --force            run jobs even when they are up to date
      --no-wait          fail instead of waiting for another run in this directory
      --output MODE      buffered (default) | stream | quiet
      --events FILE      write NDJSON events
      --trace FILE       write a Chrome trace (open it in Perfetto)
      --reactor KIND     auto | epoll | portable
      --no-color         no colors (NO_COLOR is honoured too)
  -v, --verbose          say more`;

/** Help per command. */
export const HELP: Record<string, string> = {
  "": `jx ${VERSION}: run a graph of jobs, as fast as the machine allows

Usage:
  jx run [-f FILE] [JOB...] [NAME=VALUE...]   run jobs and what they need
  jx list [-f FILE]                           jobs and modules, with descriptions
  jx graph [-f FILE] [--format dot|mermaid|json]   the derived graph, edges with reasons
  jx explain [-f FILE] JOB                    why JOB would run (or is up to date)
  jx clean [-f FILE] [-n] [JOB...]            remove what the jobs' writes name
  jx watch [-f FILE] [JOB...]                 run, then rerun on change (not yet available)
  jx ctl ACTION [ARGS]                        control a running jx (not yet available)
  jx --version | jx --help | jx COMMAND --help

${COMMON}

Exit codes: 0 ok, 1 a job failed, 2 usage error or invalid jobs file,
130/143 interrupted by SIGINT/SIGTERM.

Examples:
  jx run                      run every job in jobs.yaml
  jx run -j4 test CC=clang    run 'test' and what it needs, 4 at a time
  jx run -n                   show the order, run nothing
  jx graph --format mermaid   the graph, for a Markdown page
`,
  run: `Usage: jx run [-f FILE] [JOB...] [NAME=VALUE...]

Runs the named jobs (default: all jobs) and everything they need. Jobs start
as soon as what they wait for has ended, up to -j at once. After a failure no
new job starts (use -k to keep going).

${COMMON}

Examples:
  jx run
  jx run -f build.yaml -j8 link
  jx run --output stream --events events.ndjson
  jx run OUT=dist test
`,
  list: `Usage: jx list [-f FILE]

Lists jobs and modules with their descriptions.

Example:
  jx list -f jobs.yaml.example
`,
  graph: `Usage: jx graph [-f FILE] [--format dot|mermaid|json] [JOB...]

Prints the derived graph; every edge carries its reason: needs, if/unless,
or the resource conflict (writes out/gen.h -> reads out/*.h).

Examples:
  jx graph | dot -Tsvg > graph.svg
  jx graph --format json | jq '.edges[]'
`,
  clean: `Usage: jx clean [-f FILE] [-n] [JOB...]

Removes the files that the named jobs' (default: all jobs') writes name; -n
lists them without removing anything.

Example:
  jx clean -n
`,
  explain: `Usage: jx explain [-f FILE] JOB

Says why JOB would run (which input changed, with old and new hashes; a new
or vanished file; a changed command, environment or variable; a missing or
modified output) or that it is up to date, and what it waits for.

Example:
  jx explain link
`,
  watch: `Usage: jx watch [-f FILE] [JOB...]

Not available yet in this version.
`,
  ctl: `Usage: jx ctl ACTION [ARGS]

Not available yet in this version.
`,
};
