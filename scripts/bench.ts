// Benchmark (not a test): prints single-threaded parse-only time, full analysis time, their ratio
// and peak RSS for one tree. Each phase runs in its own process so RSS figures do not mix.
// Besides medians it prints the fastest run and the CPU time of the analysis processes: on a
// shared machine wall times only grow with the load, so the minimum is the better estimate.
//   npm run bench -- <dir> [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createParserBackend } from '../src/analyzer/parse/backends';
import { DEFAULT_SELECTION, listFiles, loadSources } from '../src/analyzer/files';

const REPO = path.join(__dirname, '..');

async function parseOnly(dir: string): Promise<void> {
  const { files } = await loadSources(dir, await listFiles(dir, DEFAULT_SELECTION), DEFAULT_SELECTION);
  const parser = await createParserBackend('wasm');
  parser.parse('int warmup(void) { return 0; }').delete?.();
  const started = performance.now();
  for (const f of files) parser.parse(f.text).delete?.();
  const ms = performance.now() - started;
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
  console.log(JSON.stringify({ ms, files: files.length, bytes, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

/**
 * One share of a parse-only run on several cores: parses the files of share `index` of `shares`
 * (largest first, each file to the share with the fewest bytes so far), starting at the epoch
 * time `startAt` so that all shares run at once. Prints its own parse time.
 */
async function parseShare(dir: string, index: number, shares: number, startAt: number): Promise<void> {
  const { files } = await loadSources(dir, await listFiles(dir, DEFAULT_SELECTION), DEFAULT_SELECTION);
  const bins = Array.from({ length: shares }, () => ({ bytes: 0, texts: [] as string[] }));
  for (const f of [...files].sort((a, b) => b.text.length - a.text.length)) {
    const bin = bins.reduce((m, b) => (b.bytes < m.bytes ? b : m));
    bin.bytes += f.text.length;
    bin.texts.push(f.text);
  }
  const parser = await createParserBackend('wasm');
  parser.parse('int warmup(void) { return 0; }').delete?.();
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
  const started = performance.now();
  for (const text of bins[index].texts) parser.parse(text).delete?.();
  console.log(JSON.stringify({ ms: performance.now() - started, startedAt: performance.timeOrigin + started }));
}

/**
 * Parse-only on `shares` cores at once (separate processes, so nothing is shared but the
 * machine): the wall time from the first share's start to the last one's end. Against the
 * single-threaded parse-only time it tells how much a second core really adds on this machine.
 */
async function parallelParseOnly(dir: string, shares: number): Promise<number> {
  const startAt = Date.now() + 2500;
  const runs = Array.from({ length: shares }, (_, i) => new Promise<{ ms: number; startedAt: number }>((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', __filename, '--phase-parse-share', dir, String(i), String(shares), String(startAt)], { cwd: REPO });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`parse share ${i} failed`))));
  }));
  const done = await Promise.all(runs);
  return Math.max(...done.map((d) => d.startedAt + d.ms)) - Math.min(...done.map((d) => d.startedAt));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function min(xs: number[]): number {
  return Math.min(...xs);
}

/** Runs a phase; `cpuMs` is the child's CPU time (all its threads), from scripts/bench-cpu.cjs. */
function child(args: string[], useTsx: boolean): Record<string, unknown> & { cpuMs: number } {
  const r = spawnSync(process.execPath, [...(useTsx ? ['--import', 'tsx'] : []), '--require', path.join(__dirname, 'bench-cpu.cjs'), ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`benchmark phase failed: ${r.stderr}`);
  const cpu = /lockpath-bench-cpu (\{.*\})/.exec(r.stderr);
  return { ...JSON.parse(r.stdout), cpuMs: cpu ? (JSON.parse(cpu[1]) as { ms: number }).ms : NaN };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--phase-parse') return parseOnly(args[1]);
  if (args[0] === '--phase-parse-share') return parseShare(args[1], Number(args[2]), Number(args[3]), Number(args[4]));
  const dir = args.find((a) => !a.startsWith('--'));
  const runsFlag = args.indexOf('--runs');
  const runs = runsFlag >= 0 ? Number(args[runsFlag + 1]) : 3;
  if (!dir) {
    console.error('usage: npm run bench -- <dir> [--runs N]');
    process.exitCode = 2;
    return;
  }
  const abs = path.resolve(dir);
  const parses: Record<string, number>[] = [];
  const parallelParses: number[] = [];
  const cores = Math.min(os.availableParallelism(), 4);
  const analyses: { stats: Record<string, number>; cpuMs: number }[] = [];
  const full: { ms: number; rss: number; cpuMs: number; counts: Record<string, number>; suppressed: number; concurrencyMs: number; locksMs: number; locks: number; orderEdges: number }[] = [];
  for (let i = 0; i < runs; i++) {
    parses.push(child([path.join(__filename), '--phase-parse', abs], true) as Record<string, number>);
    if (cores > 1) parallelParses.push(await parallelParseOnly(abs, cores));
    analyses.push(child([path.join(REPO, 'bin', 'lockpath.js'), 'stats', abs, '--format', 'json'], false) as unknown as { stats: Record<string, number>; cpuMs: number });
    const out = child([path.join(REPO, 'bin', 'lockpath.js'), 'analyze', abs, '--format', 'json', '--fail-on', 'none'], false) as unknown as { stats: Record<string, number>; cpuMs: number; summary: { counts: Record<string, number>; suppressed: number; concurrencyMs: number; locks: { ms: number; locks: unknown[]; orderEdges: number } } };
    // analysisMs covers parse, index and edges; the findings pass runs after it.
    full.push({ ms: out.stats.analysisMs + out.summary.concurrencyMs, rss: out.stats.peakRssMb, cpuMs: out.cpuMs, counts: out.summary.counts, suppressed: out.summary.suppressed, concurrencyMs: out.summary.concurrencyMs, locksMs: out.summary.locks.ms, locks: out.summary.locks.locks.length, orderEdges: out.summary.locks.orderEdges });
  }
  const parseMs = median(parses.map((p) => p.ms));
  const parseMin = min(parses.map((p) => p.ms));
  const analysisMs = median(analyses.map((a) => a.stats.analysisMs));
  const analysisMin = min(analyses.map((a) => a.stats.analysisMs));
  const rss = Math.max(...analyses.map((a) => a.stats.peakRssMb));
  const p0 = parses[0];
  const workers = analyses[0].stats.workers;
  // With the default worker count the main thread extracts a share too (one worker fewer than cores).
  const threads = workers < Math.min(os.availableParallelism(), 4) ? `${workers} worker thread${workers === 1 ? '' : 's'} + the main thread` : `${workers} worker threads`;
  console.log(`tree: ${abs}`);
  console.log(`files: ${p0.files} (${(p0.bytes / 1e6).toFixed(2)} MB), runs: ${runs} (medians; min = fastest run), ${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(1)}`);
  console.log(`single-threaded parse only (wasm): ${parseMs.toFixed(0)} ms, min ${parseMin.toFixed(0)}   [${parses.map((p) => p.ms.toFixed(0)).join(', ')}]`);
  if (parallelParses.length) {
    const pp = median(parallelParses);
    console.log(`parse only on ${cores} cores at once (reference; the machine's parallel speed-up): ${pp.toFixed(0)} ms, min ${min(parallelParses).toFixed(0)}   [${parallelParses.map((p) => p.toFixed(0)).join(', ')}] = ${(pp / parseMs).toFixed(2)}x the single-threaded time (${(parseMs / pp).toFixed(2)}x speed-up of ${cores} cores)`);
  }
  console.log(`full analysis (parse + index + edges, ${threads}): ${analysisMs.toFixed(0)} ms, min ${analysisMin.toFixed(0)}   [${analyses.map((a) => a.stats.analysisMs).join(', ')}]; process CPU ${median(analyses.map((a) => a.cpuMs)).toFixed(0)} ms`);
  console.log(`ratio analysis / parse-only: ${(analysisMs / parseMs).toFixed(2)}x (min/min ${(analysisMin / parseMin).toFixed(2)}x)`);
  console.log(`peak RSS (analysis process): ${rss.toFixed(0)} MB`);
  const analyzeMs = median(full.map((f) => f.ms));
  const analyzeMin = min(full.map((f) => f.ms));
  console.log(`analyze (graph + concurrency findings): ${analyzeMs.toFixed(0)} ms, min ${analyzeMin.toFixed(0)}   [${full.map((f) => f.ms.toFixed(0)).join(', ')}], ratio to parse-only ${(analyzeMs / parseMs).toFixed(2)}x (min/min ${(analyzeMin / parseMin).toFixed(2)}x), peak RSS ${Math.max(...full.map((f) => f.rss)).toFixed(0)} MB, process CPU ${median(full.map((f) => f.cpuMs)).toFixed(0)} ms`);
  console.log(`concurrency pass: ${median(full.map((f) => f.concurrencyMs)).toFixed(0)} ms, of which locks (lock model, lock order, deferred releases) ${median(full.map((f) => f.locksMs)).toFixed(0)} ms: ${full[0].locks} locks, ${full[0].orderEdges} lock-order facts`);
  console.log(`findings: ${Object.entries(full[0].counts).map(([k, v]) => `${v} ${k}`).join(', ')}${full[0].suppressed ? `, ${full[0].suppressed} suppressed` : ''}`);
}

void main();
