import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { analyzeTree, tuneJitForOneShotRun } from '../analyzer/analyze';
import type { Analysis, AnalyzeOptions } from '../analyzer/analyze';
import { LockpathError } from '../analyzer/errors';
import { EDGE_KINDS } from '../analyzer/graph';
import type { EdgeKind, Stats } from '../analyzer/graph';
import { trace, DEFAULT_TRACE_KINDS } from '../analyzer/query/trace';
import { neighborhood } from '../analyzer/query/neighborhood';
import type { Direction } from '../analyzer/query/neighborhood';
import { toDot, toMermaid, traceEdges, traceToJson, traceToText, describeEdge } from '../analyzer/report/formats';
import { USAGE } from './usage';
import path from 'node:path';
import { analyzeProject } from '../analyzer/project';
import type { ProjectOptions } from '../analyzer/project';
import type { Finding } from '../analyzer/concurrency/types';
import { findingsToText, findingToText } from '../analyzer/report/findingsText';
import { toSarif } from '../analyzer/report/sarif';
import { checkoutRevision } from '../analyzer/diff/revisions';
import { diffFindings } from '../analyzer/diff/diffFindings';

/** Exit codes: 0 ok, 1 findings at or above --fail-on (analyze, diff), 2 bad usage or input, 3 internal error. */
export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

const COMMON: ParseArgsConfig['options'] = {
  parser: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  'max-file-size': { type: 'string' },
  workers: { type: 'string' },
  format: { type: 'string' },
  stats: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMAND_OPTIONS: Record<string, ParseArgsConfig['options']> = {
  trace: { from: { type: 'string' }, to: { type: 'string' }, via: { type: 'string', multiple: true }, 'max-paths': { type: 'string' }, edges: { type: 'string' } },
  graph: { around: { type: 'string' }, depth: { type: 'string' }, direction: { type: 'string' }, edges: { type: 'string' }, 'max-nodes': { type: 'string' } },
  stats: {},
  analyze: { model: { type: 'string' }, 'fail-on': { type: 'string' } },
  diff: { model: { type: 'string' }, 'fail-on': { type: 'string' }, base: { type: 'string' }, head: { type: 'string' } },
};

type Values = Record<string, string | boolean | string[] | undefined>;

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (command === '--version' || command === 'version') {
    out('lockpath 0.1.0');
    return EXIT.ok;
  }
  const specific = COMMAND_OPTIONS[command];
  if (!specific) throw new LockpathError(`unknown command '${command}' (expected analyze, diff, trace, graph or stats; see lockpath --help)`);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON, ...specific }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    throw new LockpathError(`${command}: ${(err as Error).message.split('\n')[0]}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new LockpathError(`${command}: expected exactly one directory argument, got ${positionals.length}`);
  const dir = positionals[0];
  const options = analyzeOptions(values);

  switch (command) {
    case 'analyze': return runAnalyze(dir, values, options, out);
    case 'diff': return runDiff(dir, values, options, out);
    case 'trace': return runTrace(dir, values, options, out);
    case 'graph': return runGraph(dir, values, options, out);
    default: {
      const analysis = await analyzeTree(dir, options);
      const format = oneOf(values.format as string | undefined, ['text', 'json'], 'text', '--format');
      out(format === 'json' ? JSON.stringify({ stats: analysis.graph.stats, skipped: analysis.graph.skipped, unresolved: analysis.graph.unresolved, warnings: analysis.graph.warnings }, null, 2) : statsText(analysis));
      return EXIT.ok;
    }
  }
}

const FAIL_ON = ['deadlock-risk', 'stall', 'any', 'none'] as const;

/** Whether a finding is at or above the --fail-on threshold. */
function failsOn(threshold: (typeof FAIL_ON)[number], f: Finding): boolean {
  if (f.suppressed || threshold === 'none') return false;
  if (threshold === 'any') return true;
  // A lock-order inversion is a deadlock as much as a deadlock risk: it fails at the same threshold.
  const deadlock = f.class === 'deadlock-risk' || f.class === 'lock-order';
  if (threshold === 'stall') return deadlock || f.class === 'stall';
  return deadlock;
}

async function runAnalyze(dir: string, values: Values, options: ProjectOptions, out: (s: string) => void): Promise<number> {
  const format = oneOf(values.format as string | undefined, ['text', 'json', 'sarif'], 'text', '--format');
  const failOn = oneOf(values['fail-on'] as string | undefined, FAIL_ON, 'deadlock-risk', '--fail-on');
  const result = await analyzeProject(dir, { ...options, ...(values.model ? { modelPath: values.model as string } : {}) });
  for (const w of result.modelWarnings) process.stderr.write(`lockpath: ${w}\n`);
  if (format === 'sarif') out(JSON.stringify(toSarif(result.findings), null, 2));
  else if (format === 'json') {
    out(JSON.stringify({
      findings: result.findings,
      summary: result.summary,
      model: result.model ? { file: result.model.file, warnings: result.modelWarnings } : null,
      stats: result.analysis.graph.stats,
      skipped: result.analysis.graph.skipped,
      unresolvedIndirectCalls: result.analysis.graph.unresolved.length,
      warnings: result.analysis.graph.warnings,
    }, null, 2));
  } else {
    out(findingsToText(result.findings, result.summary));
    if (values.stats) out('\n' + statsText(result.analysis));
    else for (const w of result.analysis.graph.warnings) process.stderr.write(`lockpath: warning: ${w}\n`);
  }
  return result.findings.some((f) => failsOn(failOn, f)) ? EXIT.findings : EXIT.ok;
}

async function runDiff(dir: string, values: Values, options: ProjectOptions, out: (s: string) => void): Promise<number> {
  if (!values.base) throw new LockpathError('diff: --base REV is required');
  const format = oneOf(values.format as string | undefined, ['text', 'json', 'sarif'], 'text', '--format');
  const failOn = oneOf(values['fail-on'] as string | undefined, FAIL_ON, 'deadlock-risk', '--fail-on');
  const projectOptions: ProjectOptions = { ...options, ...(values.model ? { modelPath: path.resolve(values.model as string) } : {}) };
  const base = await checkoutRevision(dir, values.base as string);
  const head = values.head ? await checkoutRevision(dir, values.head as string) : null;
  try {
    const [before, after] = await Promise.all([analyzeProject(base.dir, projectOptions), analyzeProject(head ? head.dir : dir, projectOptions)]);
    const d = diffFindings(before.findings, after.findings);
    if (format === 'sarif') out(JSON.stringify(toSarif(d.added), null, 2));
    else if (format === 'json') out(JSON.stringify({ base: base.rev, head: head?.rev ?? 'working tree', new: d.added, fixed: d.removed, unchanged: d.unchanged.length }, null, 2));
    else {
      out(`base ${base.rev.slice(0, 12)} → head ${head ? head.rev.slice(0, 12) : 'working tree'}: ${d.added.length} new, ${d.removed.length} fixed, ${d.unchanged.length} unchanged`);
      if (d.added.length) out('\nNEW\n\n' + d.added.map((f, i) => findingToText(f, i + 1)).join('\n\n'));
      if (d.removed.length) out('\nFIXED\n' + d.removed.map((f) => `  ${f.class}  ${f.message}  (id ${f.id})`).join('\n'));
    }
    return d.added.some((f) => failsOn(failOn, f)) ? EXIT.findings : EXIT.ok;
  } finally {
    await base.cleanup();
    await head?.cleanup();
  }
}

function analyzeOptions(values: Values): AnalyzeOptions {
  const options: AnalyzeOptions = {};
  if (values.parser !== undefined) options.parser = oneOf(values.parser as string, ['wasm', 'native'] as const, 'wasm', '--parser');
  const selection: AnalyzeOptions['selection'] = {};
  if (values.include) selection.include = values.include as string[];
  if (values.exclude) selection.exclude = [...(values.exclude as string[])];
  if (values['max-file-size'] !== undefined) selection.maxFileBytes = positiveInt(values['max-file-size'] as string, '--max-file-size');
  options.selection = selection;
  if (values.workers !== undefined) options.workers = nonNegativeInt(values.workers as string, '--workers');
  return options;
}

async function runTrace(dir: string, values: Values, options: AnalyzeOptions, out: (s: string) => void): Promise<number> {
  if (!values.from || !values.to) throw new LockpathError('trace: --from and --to are required');
  const format = oneOf(values.format as string | undefined, ['text', 'json', 'dot', 'mermaid'], 'text', '--format');
  const maxPaths = values['max-paths'] !== undefined ? positiveInt(values['max-paths'] as string, '--max-paths') : 5;
  const analysis = await analyzeTree(dir, options);
  const result = trace(analysis.program, {
    from: values.from as string,
    to: values.to as string,
    via: (values.via as string[] | undefined) ?? [],
    maxPaths,
    edgeKinds: edgeKinds(values.edges as string | undefined, DEFAULT_TRACE_KINDS),
  });
  if (format === 'json') out(JSON.stringify({ ...traceToJson(result), ...(values.stats ? { stats: analysis.graph.stats } : {}) }, null, 2));
  else if (format === 'dot') out(toDot(traceEdges(result), `trace ${result.from.id} -> ${result.to.id}`));
  else if (format === 'mermaid') out(toMermaid(traceEdges(result)));
  else {
    out(traceToText(result));
    if (values.stats) out('\n' + statsText(analysis));
  }
  return EXIT.ok;
}

async function runGraph(dir: string, values: Values, options: AnalyzeOptions, out: (s: string) => void): Promise<number> {
  if (!values.around) throw new LockpathError('graph: --around is required');
  const format = oneOf(values.format as string | undefined, ['json', 'dot', 'mermaid', 'text'], 'json', '--format');
  const direction = oneOf(values.direction as string | undefined, ['in', 'out', 'both'], 'both', '--direction') as Direction;
  const depth = values.depth !== undefined ? nonNegativeInt(values.depth as string, '--depth') : 2;
  const maxNodes = values['max-nodes'] !== undefined ? positiveInt(values['max-nodes'] as string, '--max-nodes') : 2000;
  const analysis = await analyzeTree(dir, options);
  const sub = neighborhood(analysis.program, { around: values.around as string, depth, direction, edgeKinds: edgeKinds(values.edges as string | undefined, EDGE_KINDS), maxNodes });
  if (format === 'dot') out(toDot(sub, `around ${sub.center}`));
  else if (format === 'mermaid') out(toMermaid(sub));
  else if (format === 'text') {
    out(`${sub.center}: ${sub.functions.length} functions, ${sub.edges.length} edges within ${depth} hops (${direction})${sub.truncated ? ' — cut at --max-nodes' : ''}`);
    for (const e of sub.edges) out(`  ${e.from} → ${e.to}  ${describeEdge(e)}`);
  } else out(JSON.stringify({ ...sub, ...(values.stats ? { stats: analysis.graph.stats } : {}) }, null, 2));
  if (sub.truncated) process.stderr.write(`lockpath: the neighbourhood was cut at ${maxNodes} functions; narrow it with --depth, --direction or --edges\n`);
  return EXIT.ok;
}

export function statsText(analysis: Analysis): string {
  const s: Stats = analysis.graph.stats;
  const lines = [
    `files: ${s.filesParsed} parsed (${s.filesWithErrors} with syntax the grammar could not parse), ${s.filesSkipped} skipped`,
    `functions: ${s.functions} defined, ${s.externalFunctions} external`,
    `edges: ${EDGE_KINDS.map((k) => `${s.edges[k]} ${k}`).join(', ')}`,
    `indirect call sites: ${s.indirectSites.total} (${s.indirectSites.resolved} resolved, ${s.indirectSites.unresolved} unresolved); ${s.externalApiCalls} calls through unassigned API pointers`,
    `time: parse ${s.parseMs} ms, analysis ${s.analysisMs} ms (${s.parser} parser, ${s.workers} worker threads); peak RSS ${s.peakRssMb} MB`,
  ];
  for (const sk of analysis.graph.skipped) lines.push(`skipped ${sk.file}: ${sk.reason}${sk.detail ? ` (${sk.detail})` : ''}`);
  for (const w of analysis.graph.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

function edgeKinds(value: string | undefined, fallback: readonly EdgeKind[]): readonly EdgeKind[] {
  if (!value) return fallback;
  const kinds = value.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) if (!(EDGE_KINDS as readonly string[]).includes(k)) throw new LockpathError(`--edges: unknown edge kind '${k}' (expected ${EDGE_KINDS.join(', ')})`);
  return kinds as EdgeKind[];
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new LockpathError(`${flag}: '${value}' is not one of ${allowed.join(', ')}`);
  return value as T;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new LockpathError(`${flag}: expected a positive whole number, got '${value}'`);
  return n;
}

function nonNegativeInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new LockpathError(`${flag}: expected a whole number ≥ 0, got '${value}'`);
  return n;
}

/** Entry point used by bin/lockpath.js: runs main and maps errors to one line and an exit code. */
export function run(argv: string[] = process.argv.slice(2)): void {
  // A closed pipe (`lockpath … | head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // One analysis, then exit: tune the JIT for that (a server keeps V8's defaults).
  tuneJitForOneShotRun();
  main(argv).then((code) => { process.exitCode = code; }, (err: unknown) => {
    if (err instanceof LockpathError) {
      process.stderr.write(`lockpath: ${err.message}\n`);
      process.exitCode = EXIT.usage;
    } else {
      process.stderr.write(`lockpath: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.internal;
    }
  });
}
