export const USAGE = `lockpath — trace code paths through C code, through macros, function pointers and thread hand-offs

usage:
  lockpath analyze <dir> [--format text|json|sarif] [--model FILE] [--fail-on deadlock-risk|stall|any|none]
  lockpath diff <dir> --base REV [--head REV] [--format text|json|sarif] [--model FILE] [--fail-on …]
  lockpath trace <dir> --from A [--via B]... --to C [--max-paths N] [--edges KINDS] [--format text|json|dot|mermaid]
  lockpath graph <dir> --around F [--depth K] [--direction in|out|both] [--edges KINDS] [--max-nodes N] [--format json|dot|mermaid|text]
  lockpath stats <dir> [--format text|json]

common options:
  --parser wasm|native     parser backend (default wasm; native needs the optional 'tree-sitter' package)
  --include GLOB           files to analyse (repeatable; default **/*.c and **/*.h)
  --exclude GLOB           files or folders to skip (repeatable; replaces the defaults: .git, node_modules, build, bin, dist, out)
  --max-file-size BYTES    skip larger files (default 1048576)
  --workers N              parser worker threads (default: one thread per core, up to 4, for trees over 512 KB, the main thread counting as one)
  --stats                  also print the analysis statistics
  --model FILE             the .lockpath model file (default: <dir>/.lockpath when present)
  --fail-on CLASS          analyze/diff exit 1 when a (new) finding of this class or worse is reported (default deadlock-risk, which includes lock-order)
  -h, --help               this text

KINDS is a comma-separated list of: direct, macro, indirect, handoff, registration
(trace follows direct,macro,indirect,handoff by default; graph follows all).
Names are function names, name@file for static functions or ambiguous names; --via also takes macro names.
Exit codes: 0 ok, 1 findings at or above --fail-on, 2 bad usage or input (one line on stderr), 3 internal error.`;
