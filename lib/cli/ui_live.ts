/**
 * `jx run --ui` and `jx watch --ui`: the `jx ui` page served live during the
 * run. The page's server gets the run's graph (with explain verdicts and
 * each job's last duration), its `reporter` joins the run's reporters, and
 * its control requests go, checked as `jx ctl`'s are (`parseCtlRequest`),
 * to the run's module supervisor. The one line with the address goes to
 * stderr, beside jx's other messages (stdout is the jobs' output).
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import type { Graph, JobSpec } from "../graph/mod.ts";
import type { CtlReply, CtlRequest } from "../modules/mod.ts";
import { writeAll } from "../runtime/mod.ts";
import type { Reporter } from "../scheduler/mod.ts";
import type { Args } from "./args.ts";

/** The page of a run: its reporter, and `close` once the run is over. */
export interface RunUi {
  reporter: Reporter;
  url: string;
  /** `jx watch` loaded its jobs file again: the page shows the new graph. */
  reload(graph: Graph, selected: JobSpec[]): void;
  close(): Promise<void>;
}

/** What the page needs of the run. */
export interface RunUiOptions {
  graph: Graph;
  selected: JobSpec[];
  mode: "run" | "watch";
  /** The run's (or session's) supervisor: `jx ctl`'s operations. */
  control: (req: CtlRequest) => Promise<CtlReply>;
}

/**
 * Starts the page when `--ui` (or `--ui-port`) was given and prints its
 * line; undefined otherwise. A port that cannot be had is bad input (exit 2,
 * nothing run).
 */
export async function startRunUi(args: Args, o: RunUiOptions): Promise<RunUi | undefined> {
  if (!args.ui) return undefined;
  const { graphData, listenReason, startUi } = await import(
    "../ui/mod.ts" as string
  ) as typeof import("../ui/mod.ts");
  const { lastDurations } = await import(
    "./durations.ts" as string
  ) as typeof import("./durations.ts");
  const { parseCtlRequest } = await import(
    "../modules/mod.ts" as string
  ) as typeof import("../modules/mod.ts");
  const data = (graph: Graph, selected: JobSpec[]) => {
    const lastMs = lastDurations(graph.baseDir, selected);
    return graphData(graph, new Set(selected.map((j) => j.name)), { lastMs });
  };
  const port = args.uiPort ?? 0;
  const ui = await startUi({
    graph: data(o.graph, o.selected),
    port,
    mode: o.mode,
    onControl: (req) => {
      // The page's request, checked exactly as a `jx ctl` line is.
      const fields = Object.fromEntries(Object.entries(req).filter(([, v]) => v !== undefined));
      const parsed = parseCtlRequest(JSON.stringify(fields));
      return "error" in parsed ? { ok: false, error: parsed.error } : o.control(parsed);
    },
  }).catch((e) => {
    const code = (e as { code?: string }).code;
    if (code === "EADDRINUSE" || code === "EACCES") {
      throw new JxInputError(`--ui-port ${port}: cannot listen: ${listenReason(e)}`);
    }
    throw e;
  });
  writeAll(2, `jx ui: ${ui.url}\n`);
  return {
    reporter: ui.reporter,
    url: ui.url,
    reload: (graph, selected) => ui.setGraph(data(graph, selected)),
    close: () => ui.close(),
  };
}
