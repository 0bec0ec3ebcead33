/**
 * `jx completions bash|zsh|fish`: shell completion scripts, generated from the
 * command line's own tables (COMMANDS, OPTIONS, SHORT in `args.ts`) so that
 * they cannot drift from the parser. Job names are completed by running
 * `jx completions names` (with the `-f FILE` already on the command line) each
 * time: jobs, `foreach` groups and modules; `jx ctl` completes its actions
 * (read from `jx ctl --help`), then module names (`jx completions modules`);
 * `jx cache` its actions (those of `jx cache --help`).
 *
 * @module
 */
import { didYouMean, JxInputError, usageError } from "../runtime/errors.ts";
import { cwd, escapeControls, writeAll } from "../runtime/mod.ts";
import {
  ACTION_OPTIONS,
  type Args,
  COMMAND_OPTIONS,
  COMMANDS,
  OPTIONS,
  optionsOf,
  SHORT,
  SHORT_ONLY,
} from "./args.ts";
import { HELP } from "./help.ts";

/** The shells jx writes completion scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** A shell jx writes completion scripts for. */
export type Shell = typeof SHELLS[number];

/** Commands whose positional arguments are job names. */
const JOB_COMMANDS = ["run", "watch", "graph", "explain", "clean", "lint"];

/** What `jx completions WHAT` lists for the scripts (from the jobs file). */
const LISTS = ["names", "modules"] as const;

/**
 * `jx ctl`'s actions, and those whose operands are module names, read from
 * the Actions table of `jx ctl --help`.
 */
export function ctlActions(): { all: string[]; modules: string[] } {
  const block = HELP.ctl.split("\nActions:\n")[1]?.split("\n\n")[0] ?? "";
  const rows = [...block.matchAll(/^ {2}(\w+)\b(.*)$/gm)];
  return {
    all: rows.map((r) => r[1]),
    modules: rows.filter((r) => r[2].includes("MODULE...")).map((r) => r[1]),
  };
}

/**
 * `jx cache`'s actions, as the table of `jx cache --help` lists them (a test
 * holds the two together: reading that text here would load the cache's part
 * at every completion of job names).
 */
const CACHE_ACTIONS = ["stats", "prune", "clear"];

/** What completion needs to know about one long option. */
interface Opt {
  long: string;
  short?: string;
  /** Whether it takes a value. */
  value: boolean;
  /** The accepted values, when they are a short list. */
  choices?: string[];
  /** Whether its value is a path. */
  file: boolean;
  description: string;
}

/** Descriptions for options that no help text lists in its options table. */
const FALLBACK_DOCS: Record<string, string> = {
  "--help": "show help (jx COMMAND --help: help on a command)",
  "--version": "print the version",
  "--format": "graph format: dot | mermaid | json | html",
  "--jobserver-style": "jobserver style: auto | pipe | fifo | none",
  "--names": "list: names only, one per line",
  "--debounce": "watch: wait this long after a change",
  "--on-busy": "watch: on a change during a run: restart | queue | ignore",
  "--poll": "watch: poll for changes instead of inotify",
  "--ignore": "lint: paths never reported (a glob), repeatable",
  "--port": "ui: the page's port (default: any free one)",
  "--host": "ui: the address to bind (default: 127.0.0.1)",
  "--max-size": "cache prune: remove the least recently used entries down to SIZE",
};

/** Options whose value is a path. */
const FILE_OPTIONS = new Set(["--file", "--events", "--trace", "--cache-dir"]);

/** Descriptions of options and commands, read from the help texts. */
function descriptions(): { options: Map<string, string>; commands: Map<string, string> } {
  const options = new Map<string, string>();
  const commands = new Map<string, string>();
  for (const text of Object.values(HELP)) {
    let last = ""; // the option whose row the line may continue
    for (const line of text.split("\n")) {
      const o = /^\s+(?:-\w, )?(--[\w-]+)(?: [A-Z]+)?\s{2,}(\S.*)$/.exec(line);
      const more = /^\s{20,}([^\s-].*)$/.exec(line);
      if (more && last) {
        options.set(last, `${options.get(last)} ${more[1]}`);
      } else if (o && !options.has(o[1])) {
        options.set(o[1], o[2]);
        last = o[1];
      } else {
        last = "";
      }
    }
  }
  for (const line of HELP[""].split("\n")) {
    const c = /^\s+jx (\w+)\b.*?\s{3,}(\S.*)$/.exec(line);
    if (c && !commands.has(c[1])) commands.set(c[1], c[2]);
  }
  commands.set("help", "help on jx or on a command");
  return { options, commands };
}

/** The options, in the order of the parser's table. */
function options(): Opt[] {
  const { options: docs } = descriptions();
  const shortOf = new Map(Object.entries(SHORT).map(([s, l]) => [l, s]));
  return Object.entries(OPTIONS).map(([long, spec]) => ({
    long,
    short: shortOf.get(long),
    value: !!spec.value,
    choices: spec.value?.choices,
    file: FILE_OPTIONS.has(long),
    description: docs.get(long) ?? FALLBACK_DOCS[long] ?? "",
  }));
}

/** An option's words: its long form, then its short one if it has one. */
function wordsOf(o: Opt): string[] {
  return [o.long, ...(o.short ? ["-" + o.short] : [])];
}

/** A short option with no long form (`SHORT_ONLY`): its word and its help row's words. */
interface ShortOnly {
  word: string;
  description: string;
}

/** The short options of `command` that have no long form, described by its help's rows. */
function shortOnly(command: string): ShortOnly[] {
  const help = (HELP as Record<string, string>)[command] ?? "";
  return (SHORT_ONLY[command] ?? []).map((word) => ({
    word,
    description: new RegExp(`^\\s+${word}\\s{2,}(\\S.*)$`, "m").exec(help)?.[1] ?? "",
  }));
}

/** A command's option words: after it, its short ones with no long form, after one action. */
interface CommandWords {
  command: string;
  own: Opt[];
  shorts: ShortOnly[];
  /** Options that go with one action only (`ACTION_OPTIONS`), by that action. */
  byAction: [string, Opt[]][];
}

/**
 * Per command, the options it takes (`COMMAND_OPTIONS`, and those of every command; its short
 * options with no long form, `SHORT_ONLY`; those that go with one of its actions only,
 * `ACTION_OPTIONS`), each as `line` makes it; for the option words after a command.
 */
function perCommand(opts: Opt[], line: (w: CommandWords) => string): string[] {
  return Object.keys(COMMAND_OPTIONS).map((command) => {
    const takes = new Set(optionsOf(command));
    const only = ACTION_OPTIONS[command] ?? {};
    const byAction = [...new Set(Object.values(only))].map((a): [string, Opt[]] => [
      a,
      opts.filter((o) => takes.has(o.long) && only[o.long] === a),
    ]);
    const own = opts.filter((o) => takes.has(o.long) && !only[o.long]);
    return line({ command, own, shorts: shortOnly(command), byAction });
  });
}

/** Single-quotes `s` for bash, zsh and fish alike. */
function q(s: string): string {
  return "'" + s.replace(/'/g, `'\\''`) + "'";
}

/** The bash script: defines `_jx` and registers it for `jx`. */
export function bashScript(): string {
  const opts = options();
  const ctl = ctlActions();
  const words = opts.flatMap((o) => [o.long, ...(o.short ? ["-" + o.short] : [])]);
  const valued = opts.filter((o) => o.value).flatMap((o) => [
    o.long,
    ...(o.short ? ["-" + o.short] : []),
  ]);
  const cases = [
    `    ${
      opts.filter((o) => o.file).flatMap((o) => [o.long, ...(o.short ? ["-" + o.short] : [])])
        .join("|")
    })\n      COMPREPLY=($(compgen -f -- "$cur"))\n      return ;;`,
    ...opts.filter((o) => o.choices).map((o) =>
      `    ${o.long})\n      COMPREPLY=($(compgen -W ${
        q(o.choices!.join(" "))
      } -- "$cur"))\n      return ;;`
    ),
    `    ${
      opts.filter((o) => o.value && !o.file && !o.choices).flatMap((o) => [
        o.long,
        ...(o.short ? ["-" + o.short] : []),
      ]).join("|")
    })\n      return ;;`,
  ];
  return `# bash completion for jx (written by \`jx completions bash\`).
# Load it with: source <(jx completions bash)
# or save it as ~/.local/share/bash-completion/completions/jx
# Replies with the names (one a line in $1) that start with the word before the cursor. That
# word is read from COMP_LINE, its quotes and backslashes taken off: COMP_WORDS splits it at
# COMP_WORDBREAKS' ':' (NAMESPACE:job) and keeps its quoting. Bash replaces the text after the
# word's last break character, or inside its open quote: each reply is the rest of a name from
# there, quoted (comp[b c] as comp\\[b\\ c\\]) unless a quote is open.
_jx_names() {
  local line="\${COMP_LINE:0:COMP_POINT}" c n r qt="" w="" k=0 i
  for ((i = 0; i < \${#line}; i++)); do
    c="\${line:i:1}"
    if [ -n "$qt" ]; then
      if [ "$c" = "$qt" ]; then qt=""; k=\${#w}; else w+="$c"; fi
    elif [ "$c" = "\\\\" ]; then
      ((i++))
      w+="\${line:i:1}"
    elif [[ "$c" == [[:space:]] ]]; then
      w="" k=0
    elif [ "$c" = "'" ] || [ "$c" = '"' ]; then
      qt="$c" k=\${#w}
    else
      w+="$c"
      [[ "$COMP_WORDBREAKS" == *"$c"* ]] && k=\${#w}
    fi
  done
  while IFS= read -r n; do
    [ -n "$n" ] && [[ "$n" == "$w"* ]] || continue
    if [ -n "$qt" ]; then r="\${n:k}"; else printf -v r '%q' "\${n:k}"; fi
    COMPREPLY+=("$r")
  done <<<"$1"
}
# The word $1 as the shell reads it, its quotes and backslashes taken off, in _jx_u: a -f path
# comes as typed ('my dir/jobs.yaml', my\\ dir/jobs.yaml).
_jx_unquote() {
  local s="$1" c qt="" i
  _jx_u=""
  for ((i = 0; i < \${#s}; i++)); do
    c="\${s:i:1}"
    if [ -n "$qt" ]; then
      if [ "$c" = "$qt" ]; then qt=""; else _jx_u+="$c"; fi
    elif [ "$c" = "\\\\" ]; then
      ((i++))
      _jx_u+="\${s:i:1}"
    elif [ "$c" = "'" ] || [ "$c" = '"' ]; then
      qt="$c"
    else
      _jx_u+="$c"
    fi
  done
}
_jx() {
  local cur prev i cmd="" sub="" file="" w ow
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  if [ "$COMP_CWORD" -gt 0 ]; then prev="\${COMP_WORDS[COMP_CWORD-1]}"; fi
  # With '=' in COMP_WORDBREAKS, --output=st arrives as: --output = st
  if [ "$cur" = "=" ]; then prev="\${COMP_WORDS[COMP_CWORD-1]}"; cur=""; fi
  if [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then prev="\${COMP_WORDS[COMP_CWORD-2]}"; fi
  case "$prev" in
${cases.join("\n")}
  esac
  # The command and the jobs file among the words before the cursor.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      -f | --file)
        [ "\${COMP_WORDS[i+1]}" = "=" ] && ((i++))
        ((i++))
        [ "$i" -lt "$COMP_CWORD" ] && file="\${COMP_WORDS[i]}"
        ;;
      --file=*) file="\${w#--file=}" ;;
      -f?*) file="\${w#-f}" ;;
      ${valued.filter((w) => w !== "-f" && w !== "--file").join(" | ")})
        [ "\${COMP_WORDS[i+1]}" = "=" ] && ((i++))
        ((i++))
        ;;
      -* | =) ;;
      *)
        if [ -z "$cmd" ]; then cmd="$w"; elif [ -z "$sub" ]; then sub="$w"; fi
        ;;
    esac
  done
  if [[ "$cur" == -* ]]; then
    # The options of the command on the line (before it: any).
    case "$cmd" in
${
    perCommand(opts, ({ command, own, shorts, byAction }) => {
      const words = q([...own.flatMap(wordsOf), ...shorts.map((s) => s.word)].join(" "));
      const after = byAction.map(([a, o]) =>
        `; [ "$sub" = ${a} ] && ow+=${q(" " + o.flatMap(wordsOf).join(" "))}`
      );
      return `      ${command}) ow=${words}${after.join("")} ;;`;
    }).join("\n")
  }
      *) ow=${q(words.join(" "))} ;;
    esac
    COMPREPLY=($(compgen -W "$ow" -- "$cur"))
    return
  fi
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W ${q(COMMANDS.join(" "))} -- "$cur"))
    return
  fi
  case "$cmd" in
    sh) COMPREPLY=($(compgen -f -- "$cur")) ;;
    completions) COMPREPLY=($(compgen -W ${q(SHELLS.join(" "))} -- "$cur")) ;;
    help) COMPREPLY=($(compgen -W ${q(COMMANDS.join(" "))} -- "$cur")) ;;
    cache) [ -z "$sub" ] && COMPREPLY=($(compgen -W ${q(CACHE_ACTIONS.join(" "))} -- "$cur")) ;;
    ${JOB_COMMANDS.join(" | ")})
      local names
      _jx_unquote "$file"
      file="\${_jx_u/#\\~/$HOME}"
      names=$("\${COMP_WORDS[0]}" completions names \${file:+-f "$file"} 2>/dev/null)
      _jx_names "$names"
      ;;
    ctl)
      if [ -z "$sub" ]; then
        COMPREPLY=($(compgen -W ${q(ctl.all.join(" "))} -- "$cur"))
      else
        case "$sub" in
          ${ctl.modules.join(" | ")})
            local mods
            _jx_unquote "$file"
            file="\${_jx_u/#\\~/$HOME}"
            mods=$("\${COMP_WORDS[0]}" completions modules \${file:+-f "$file"} 2>/dev/null)
            _jx_names "$mods"
            ;;
        esac
      fi
      ;;
  esac
}
complete -o default -F _jx jx
`;
}

/** The zsh script: a `#compdef` function, usable from $fpath or sourced. */
export function zshScript(): string {
  const opts = options();
  const ctl = ctlActions();
  const { commands } = descriptions();
  const valued = opts.filter((o) => o.value).flatMap((o) => [
    o.long,
    ...(o.short ? ["-" + o.short] : []),
  ]);
  const spec = (w: string, d: string) => q(`${w}:${d.replace(/[:\\]/g, "\\$&")}`);
  const specs = (list: Opt[], shorts: ShortOnly[] = []) =>
    [
      ...list.flatMap((o) => wordsOf(o).map((w) => spec(w, o.description))),
      ...shorts.map((s) => spec(s.word, s.description)),
    ].join(" ");
  const cmdSpecs = COMMANDS.map((c) =>
    q(`${c}:${(commands.get(c) ?? c).replace(/[:\\]/g, "\\$&")}`)
  );
  const choiceCases = opts.filter((o) => o.choices).map((o) =>
    `    ${o.long}) compadd -- ${o.choices!.join(" ")}; return ;;`
  );
  const fileWords = opts.filter((o) => o.file).flatMap((o) => [
    o.long,
    ...(o.short ? ["-" + o.short] : []),
  ]);
  const otherValued = opts.filter((o) => o.value && !o.file && !o.choices).flatMap((o) => [
    o.long,
    ...(o.short ? ["-" + o.short] : []),
  ]);
  return `#compdef jx
# zsh completion for jx (written by \`jx completions zsh\`).
# Save it as _jx in a directory on $fpath (then run compinit), or load it
# for this session with: source <(jx completions zsh)
__jx_list() {
  local -a names
  if [[ -n $file ]]; then
    names=(\${(f)"$(\${words[1]} completions $1 -f \${~\${(Q)file}} 2>/dev/null)"})
  else
    names=(\${(f)"$(\${words[1]} completions $1 2>/dev/null)"})
  fi
  compadd -a names
}
_jx() {
  local -a commands opts names
  local cmd="" sub="" file="" i w
  commands=(${cmdSpecs.join(" ")})
  opts=(${specs(opts)})
  case \${words[CURRENT-1]} in
    ${fileWords.join("|")}) _files; return ;;
${choiceCases.join("\n")}
    ${otherValued.join("|")}) return ;;
  esac
  for (( i = 2; i < CURRENT; i++ )); do
    w=\${words[i]}
    case $w in
      -f|--file) (( i++ )); (( i < CURRENT )) && file=\${words[i]} ;;
      --file=*) file=\${w#--file=} ;;
      -f?*) file=\${w#-f} ;;
      ${valued.filter((w) => w !== "-f" && w !== "--file").join("|")}) (( i++ )) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi ;;
    esac
  done
  if [[ \${words[CURRENT]} == -* ]]; then
    # The options of the command on the line (before it: any).
    case $cmd in
${
    perCommand(opts, ({ command, own, shorts, byAction }) => {
      const after = byAction.map(([a, o]) => `; [[ $sub == ${a} ]] && opts+=(${specs(o)})`);
      return `      ${command}) opts=(${specs(own, shorts)})${after.join("")} ;;`;
    }).join("\n")
  }
    esac
    _describe -t options 'jx option' opts
    return
  fi
  if [[ -z $cmd ]]; then
    _describe -t commands 'jx command' commands
    return
  fi
  case $cmd in
    sh) _files ;;
    completions) compadd -- ${SHELLS.join(" ")} ;;
    help) _describe -t commands 'jx command' commands ;;
    cache) [[ -z $sub ]] && compadd -- ${CACHE_ACTIONS.join(" ")} ;;
    ${JOB_COMMANDS.join("|")}) __jx_list names ;;
    ctl)
      if [[ -z $sub ]]; then
        compadd -- ${ctl.all.join(" ")}
      else
        case $sub in
          ${ctl.modules.join("|")}) __jx_list modules ;;
        esac
      fi
      ;;
  esac
}
if [[ $funcstack[1] == _jx ]]; then _jx "$@"; else compdef _jx jx; fi
`;
}

/** The fish script: `complete` rules for `jx`. */
export function fishScript(): string {
  const opts = options();
  const ctl = ctlActions();
  const { commands } = descriptions();
  const lines = [
    "# fish completion for jx (written by `jx completions fish`).",
    "# Save it as ~/.config/fish/completions/jx.fish, or load it for this session",
    "# with: jx completions fish | source",
    "function __jx_file",
    "    set -l tokens (commandline -opc)",
    "    set -l n (count $tokens)",
    "    for i in (seq 2 $n)",
    "        switch $tokens[$i]",
    "            case -f --file",
    "                if test $i -lt $n",
    "                    echo $tokens[(math $i + 1)]",
    "                    return",
    "                end",
    "            case '--file=*'",
    "                string replace -- --file= '' $tokens[$i]",
    "                return",
    "            case '-f?*'",
    "                string sub -s 3 -- $tokens[$i]",
    "                return",
    "        end",
    "    end",
    "end",
    "function __jx_list",
    "    set -l jx (commandline -opc)[1]",
    "    set -l file (__jx_file)",
    '    if test -n "$file"',
    "        $jx completions $argv[1] -f $file 2>/dev/null",
    "    else",
    "        $jx completions $argv[1] 2>/dev/null",
    "    end",
    "end",
    "complete -c jx -f",
    ...COMMANDS.map((c) =>
      `complete -c jx -n ${q(`not __fish_seen_subcommand_from ${COMMANDS.join(" ")}`)} -a ${c} -d ${
        q(commands.get(c) ?? c)
      }`
    ),
    ...opts.map((o) => {
      const parts = ["complete -c jx"];
      if (o.short) parts.push(`-s ${o.short}`);
      parts.push(`-l ${o.long.slice(2)}`);
      if (o.file) parts.push("-r -F");
      else if (o.choices) parts.push(`-x -a ${q(o.choices.join(" "))}`);
      else if (o.value) parts.push("-x");
      if (o.description) parts.push(`-d ${q(o.description)}`);
      // Offered after the commands that take it (after its action, for one that goes with one
      // only), or before any command.
      const takers = Object.keys(COMMAND_OPTIONS).filter((c) => optionsOf(c).includes(o.long));
      const action = takers.length === 1 ? ACTION_OPTIONS[takers[0]]?.[o.long] : undefined;
      if (takers.length < Object.keys(COMMAND_OPTIONS).length) {
        const seen = `__fish_seen_subcommand_from ${takers.join(" ")}` +
          (action ? `; and __fish_seen_subcommand_from ${action}` : "");
        parts.push(`-n ${q(`${seen}; or not __fish_seen_subcommand_from ${COMMANDS.join(" ")}`)}`);
      }
      return parts.join(" ");
    }),
    `complete -c jx -n ${q(`__fish_seen_subcommand_from ${JOB_COMMANDS.join(" ")}`)} -a ${
      q("(__jx_list names)")
    } -d job`,
    `complete -c jx -n ${
      q(`__fish_seen_subcommand_from ctl; and not __fish_seen_subcommand_from ${ctl.all.join(" ")}`)
    } -a ${q(ctl.all.join(" "))}`,
    `complete -c jx -n ${
      q(`__fish_seen_subcommand_from ctl; and __fish_seen_subcommand_from ${ctl.modules.join(" ")}`)
    } -a ${q("(__jx_list modules)")} -d module`,
    `complete -c jx -n ${
      q(`__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from ${
        CACHE_ACTIONS.join(" ")
      }`)
    } -a ${q(CACHE_ACTIONS.join(" "))}`,
    ...Object.keys(SHORT_ONLY).flatMap((c) =>
      shortOnly(c).map((s) =>
        `complete -c jx -s ${s.word.slice(1)} -n ${q(`__fish_seen_subcommand_from ${c}`)}` +
        (s.description ? ` -d ${q(s.description)}` : "")
      )
    ),
    `complete -c jx -n ${q("__fish_seen_subcommand_from sh")} -F`,
    `complete -c jx -n ${q("__fish_seen_subcommand_from completions")} -a ${q(SHELLS.join(" "))}`,
    `complete -c jx -n ${q("__fish_seen_subcommand_from help")} -a ${q(COMMANDS.join(" "))}`,
  ];
  return lines.join("\n") + "\n";
}

/**
 * The completion script for `shell`.
 *
 * @example
 * ```ts
 * import { completionScript } from "./completions.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const bash = completionScript("bash");
 * // it defines _jx and binds it to jx
 * assertEquals(bash.includes("-F _jx jx"), true);
 * ```
 */
export function completionScript(shell: Shell): string {
  return shell === "bash" ? bashScript() : shell === "zsh" ? zshScript() : fishScript();
}

/**
 * For the scripts: the names `jx run` and the other job commands accept
 * (jobs, with each `foreach` group before its first item, then modules), or
 * the modules alone, from the jobs file `-f` names or the one found here.
 */
export async function completionNames(
  what: typeof LISTS[number],
  file: string | undefined,
): Promise<string[]> {
  const { findJobsFile, loadJobsFile } = await import(
    "../graph/mod.ts" as string
  ) as typeof import("../graph/mod.ts");
  const path = file ?? findJobsFile(cwd());
  if (!path) return [];
  const graph = loadJobsFile(path);
  const names = new Set<string>();
  for (const kind of what === "names" ? ["job", "module"] : ["module"]) {
    for (const j of graph.jobs) {
      if (j.kind !== kind) continue;
      if (j.group) names.add(j.group);
      names.add(j.name);
    }
  }
  return [...names];
}

/**
 * `jx completions SHELL`: prints the script; exit 2 without a known shell.
 * `jx completions names|modules` (for the scripts): the names, one a line.
 */
export function cmdCompletions(args: Args): number | Promise<number> {
  const shell = args.names[0];
  if (args.names.length === 1 && (LISTS as readonly string[]).includes(shell)) {
    return completionNames(shell as typeof LISTS[number], args.file).then((names) => {
      writeAll(1, names.map((n) => escapeControls(n) + "\n").join(""));
      return 0;
    }, (e) => {
      // Bad input, as main() would print it (the caller returns this promise unawaited).
      if (!(e instanceof JxInputError)) throw e;
      writeAll(2, escapeControls(e.file ? e.format() : `jx: ${e.message}`) + "\n");
      return 2;
    });
  }
  if (!args.names.length) throw usageError("completions", `missing SHELL (${SHELLS.join(", ")})`);
  if (args.names.length > 1) {
    throw usageError("completions", `unexpected argument '${args.names[1]}'`);
  }
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw usageError("completions", `unknown shell '${shell}'${didYouMean(shell, SHELLS)}`);
  }
  writeAll(1, completionScript(shell as Shell));
  return 0;
}
