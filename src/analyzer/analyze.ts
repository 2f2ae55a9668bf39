import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { createParserBackend } from './parse/backends';
import type { BackendName, ParserBackend } from './parse/syntax';
import { DEFAULT_SELECTION, listFiles, loadSources } from './files';
import type { FileSelection, SourceFile } from './files';
import { BatchCaches, extractBatch, macroTableOf, partitionMacros } from './extract/extractBatch';
import type { LocalMacros } from './extract/extractBatch';
import type { ExtractJob, ExtractResult } from './extract/extractBatch';
import { visibleHeadersByFile } from './extract/includes';
import type { MacroDef } from './macros';
import type { FileFacts } from './model';
import { link } from './link/linker';
import type { LinkedProgram } from './link/linker';
import type { EdgeKind, GraphJson, SkippedFile, Stats } from './graph';
import { EDGE_KINDS } from './graph';
import type { Profile } from './profile/profile';
import { redisModuleProfile } from './profile/redisModule';
import { LockpathError } from './errors';
import type { WorkerRequest, WorkerResponse } from './workerProtocol';

export interface AnalyzeHooks {
  /** Called as files are parsed (for progress reports). */
  onProgress?(parsed: number, total: number): void;
  /** Checked between batches; an aborted run throws a LockpathError. */
  signal?: AbortSignal;
  /** A folder for facts keyed by file content and macro scope: unchanged files are not parsed again. */
  cacheDir?: string;
}

export interface AnalyzeOptions extends AnalyzeHooks {
  parser?: BackendName;
  /** Worker threads for parsing; 0 parses in this thread. Default: one per core for large trees. */
  workers?: number;
  selection?: Partial<FileSelection>;
  profile?: Profile;
}

export interface Analysis {
  root: string;
  graph: GraphJson;
  program: LinkedProgram;
  facts: FileFacts[];
  sources: SourceFile[];
}

const IN_PROCESS_BELOW_BYTES = 512 * 1024;
/** Bump when FileFacts change shape or meaning, so cached facts are not reused. */
export const FACTS_VERSION = 'facts-20';

export async function checkDirectory(root: string): Promise<string> {
  const absRoot = path.resolve(root);
  let stat;
  try {
    stat = await fs.stat(absRoot);
  } catch {
    throw new LockpathError(`${root}: no such directory`);
  }
  if (!stat.isDirectory()) throw new LockpathError(`${root}: not a directory`);
  return absRoot;
}

/** Listed files from which a tree is presumed large enough for worker threads (see `analyzeTree`). */
const EARLY_WORKERS_FROM_FILES = 64;

export async function analyzeTree(root: string, options: AnalyzeOptions = {}): Promise<Analysis> {
  const started = performance.now();
  const absRoot = await checkDirectory(root);
  const selection: FileSelection = { ...DEFAULT_SELECTION, ...options.selection };
  const listed = await listFiles(absRoot, selection);
  // A large tree: start the workers now, so that their start-up (bundle load, WASM compile)
  // overlaps reading the files rather than following it. `analyzeSources` closes them if the
  // files turn out too small to need them.
  const plan = lanePlan(options, listed.length >= EARLY_WORKERS_FROM_FILES ? Infinity : 0, listed.length);
  tuneJit();
  const early = plan.workers > 0 && !options.cacheDir ? new WorkerPool(plan.workers, options.parser ?? 'wasm') : undefined;
  if (early && plan.mainLane) sharedParser(options.parser ?? 'wasm').catch(() => undefined);
  try {
    const { files, skipped } = await loadSources(absRoot, listed, selection);
    return await analyzeSources(absRoot, files, skipped, options, started, early);
  } finally {
    await early?.close();
  }
}

let jitTuned = false;

/**
 * Turns off TurboFan's inlining for this process (and the workers it starts: V8 flags are per
 * process), at the first analysis. An analysis runs cold, and on RediSearch TurboFan spent ~0.7 s
 * of CPU per thread compiling the extractor with inlining, on background threads that compete
 * with the extraction threads on a 2-core machine; without inlining the compiles are cheap and the
 * code is about as fast (single-threaded extraction CPU 3.2 s -> 2.7 s). Only JIT heuristics
 * change, never results. A flag given on the command line is respected.
 */
function tuneJit(): void {
  if (jitTuned) return;
  jitTuned = true;
  if (!process.execArgv.some((a) => /inlin/.test(a))) v8.setFlagsFromString('--no-turbo-inlining');
}

/**
 * The tiering budget (bytecodes executed between profiler ticks) TurboFan waits for before
 * optimizing a function, for a process that analyses once and exits (the CLI). V8's default
 * (67,584) suits long-running code: with it, TurboFan recompiled the extractor and linker ~430
 * times during one analysis of RediSearch, ~2 s of background CPU competing with the extraction
 * threads of a 2-core machine; with 1,000,000 only the really hot functions are optimized (~90
 * compiles, ~0.25 s) and `stats` went from ~2.4 s to ~2.15 s. A language server keeps V8's default:
 * it runs the same code for hours, and its edits were slower with the larger budget (inline-edit
 * median 27 -> 40 ms). `LOCKPATH_INTERRUPT_BUDGET` overrides the value; a flag given on the
 * command line is respected.
 */
const ONE_SHOT_INTERRUPT_BUDGET = 1_000_000;

export function tuneJitForOneShotRun(): void {
  const budget = process.env.LOCKPATH_INTERRUPT_BUDGET ?? String(ONE_SHOT_INTERRUPT_BUDGET);
  if (!process.execArgv.some((a) => /interrupt-budget/.test(a)) && /^\d+$/.test(budget)) v8.setFlagsFromString(`--interrupt-budget=${budget}`);
}

/**
 * How many worker threads extract, and whether this thread takes a share too. By default this
 * thread takes a share in place of one worker: that saves the worker's start-up (JIT and WASM
 * warm-up included) and the copy of its share's facts across threads. Not when the caller asked
 * for a number of workers, nor when it reports progress or can cancel (a server, which wants this
 * thread responsive).
 */
function lanePlan(options: AnalyzeOptions, totalBytes: number, fileCount: number): { workers: number; mainLane: boolean } {
  const threads = options.workers ?? (totalBytes < IN_PROCESS_BELOW_BYTES ? 0 : Math.min(os.availableParallelism(), 4));
  const mainLane = options.workers === undefined && threads > 1 && !options.onProgress && !options.signal;
  return { workers: fileCount < 2 ? 0 : mainLane ? threads - 1 : threads, mainLane };
}

/**
 * Extraction, linking and statistics for sources already in memory (the server keeps them).
 * `prestarted`: workers `analyzeTree` started while reading the files; used if the plan for these
 * files wants the same number, and closed by the caller.
 */
export async function analyzeSources(absRoot: string, files: SourceFile[], skippedIn: SkippedFile[], options: AnalyzeOptions, started = performance.now(), prestarted?: WorkerPool): Promise<Analysis> {
  tuneJit();
  if (process.env.LOCKPATH_DEBUG) debugOrigin();
  const skipped = [...skippedIn];
  const parserName = options.parser ?? 'wasm';
  const parseStarted = performance.now();
  const totalBytes = files.reduce((n, f) => n + f.text.length, 0);
  const { workers, mainLane } = lanePlan(options, totalBytes, files.length);
  // Without a cache every file is extracted now: start the workers (bundle load, WASM compile)
  // and this thread's parser so that their start-up overlaps the macro and include scan.
  const reuse = prestarted && prestarted.workers.length === workers && !options.cacheDir;
  if (prestarted && !reuse) await prestarted.close();
  const early = reuse ? prestarted : workers > 0 && !options.cacheDir ? new WorkerPool(workers, parserName) : undefined;
  if (early && mainLane) sharedParser(parserName).catch(() => undefined);
  const results = await extractAll(files, parserName, workers, mainLane, options, early);
  const parseMs = performance.now() - parseStarted;

  const facts: FileFacts[] = [];
  for (const r of results) {
    if ('facts' in r) facts.push(r.facts);
    else skipped.push({ file: r.file, reason: 'parse-failed', detail: r.error });
  }
  const linkStarted = performance.now();
  const program = link(facts, options.profile ?? redisModuleProfile);
  const analysisMs = performance.now() - started;
  debug(() => `parse+extract ${Math.round(parseMs)} ms, link ${Math.round(performance.now() - linkStarted)} ms, peak RSS ${Math.round(peakRssBytes() / 2 ** 20)} MB`);
  return { root: absRoot, graph: graphJson(absRoot, program, facts, skipped, { parseMs, analysisMs, parserName, workers }), program, facts, sources: files };
}

export function graphJson(absRoot: string, program: LinkedProgram, facts: FileFacts[], skipped: SkippedFile[], t: { parseMs: number; analysisMs: number; parserName: string; workers: number }): GraphJson {
  const edges = Object.fromEntries(EDGE_KINDS.map((k) => [k, 0])) as Record<EdgeKind, number>;
  for (const e of program.edges) edges[e.kind]++;
  const stats: Stats = {
    filesParsed: facts.length,
    filesSkipped: skipped.length,
    filesWithErrors: facts.filter((f) => f.errorNodes > 0).length,
    functions: program.functions.filter((f) => f.defined).length,
    externalFunctions: program.functions.filter((f) => !f.defined).length,
    edges,
    indirectSites: program.indirectSites,
    externalApiCalls: program.externalApiCalls,
    parseMs: Math.round(t.parseMs),
    analysisMs: Math.round(t.analysisMs),
    peakRssMb: Math.round(peakRssBytes() / (1024 * 1024)),
    parser: t.parserName,
    workers: t.workers,
  };
  return {
    version: 1,
    root: absRoot,
    functions: program.functions,
    edges: program.edges,
    unresolved: program.unresolved,
    skipped: skipped.sort((a, b) => (a.file < b.file ? -1 : 1)),
    notes: facts.flatMap((f) => f.notes),
    warnings: treeWarnings(program),
    stats,
  };
}

/**
 * A tree that defines `main` in several files holds several programs (a server, its CLI tools,
 * tests): lockpath links them into one, so a thread of one program may be paired with a lock or
 * a wait of another.
 */
function treeWarnings(program: LinkedProgram): string[] {
  const mains = program.functions.filter((f) => f.defined && f.name === 'main' && f.file).map((f) => f.file!).sort();
  if (mains.length < 2) return [];
  const listed = mains.length > 4 ? `${mains.slice(0, 4).join(', ')} and ${mains.length - 4} more` : mains.join(', ');
  return [`${mains.length} files define main (${listed}): the tree holds several programs, analysed as one, so a finding may pair threads or locks of different programs; analyse one program with --include/--exclude`];
}

export function peakRssBytes(): number {
  // resourceUsage().maxRSS is in kilobytes and covers worker threads (same process).
  return process.resourceUsage().maxRSS * 1024;
}

let inProcessParser: Promise<ParserBackend> | undefined;
let inProcessParserName: BackendName | undefined;

export function sharedParser(name: BackendName): Promise<ParserBackend> {
  if (!inProcessParser || inProcessParserName !== name) {
    inProcessParser = createParserBackend(name);
    inProcessParserName = name;
  }
  return inProcessParser;
}

/** Jobs with each .c file's visible headers attached, and the macro partition they need. */
export function prepareJobs(sources: readonly SourceFile[]): { jobs: ExtractJob[]; shared: MacroDef[]; local: Map<string, MacroDef[]> };
/** With `lazyLocal`, only headers are scanned now; each .c file's own macros when it is extracted. */
export function prepareJobs(sources: readonly SourceFile[], lazyLocal: true): { jobs: ExtractJob[]; shared: MacroDef[]; local: null };
export function prepareJobs(sources: readonly SourceFile[], lazyLocal = false): { jobs: ExtractJob[]; shared: MacroDef[]; local: Map<string, MacroDef[]> | null } {
  const { shared, local } = lazyLocal ? { shared: partitionMacros(sources.filter((s) => s.file.endsWith('.h'))).shared, local: null } : partitionMacros(sources);
  const visible = visibleHeadersByFile(sources);
  const jobs = sources.map((s) => (s.file.endsWith('.h') ? { file: s.file, text: s.text } : { file: s.file, text: s.text, visibleHeaders: [...visible.get(s.file)!].sort() }));
  return { jobs, shared, local };
}

function cacheKey(job: ExtractJob, sharedFingerprint: string, local: MacroDef[] | undefined, parser: BackendName): string {
  const h = createHash('sha256');
  h.update(FACTS_VERSION).update('\0').update(parser).update('\0').update(job.file).update('\0').update(sharedFingerprint).update('\0');
  h.update(job.visibleHeaders ? job.visibleHeaders.join('\n') : '*').update('\0').update(JSON.stringify(local ?? [])).update('\0').update(job.text);
  return h.digest('hex');
}

let debugEpoch = 0;
/** The debug timeline's zero (epoch ms): the start of the first analysis in this process. */
function debugOrigin(): number {
  return (debugEpoch ||= performance.timeOrigin + performance.now());
}

function debug(message: () => string): void {
  if (process.env.LOCKPATH_DEBUG) console.error(`lockpath: ${message()}`);
}

async function extractAll(sources: SourceFile[], parserName: BackendName, workers: number, mainLane: boolean, hooks: AnalyzeHooks, early: WorkerPool | undefined): Promise<ExtractResult[]> {
  try {
    return await extractAllWith(sources, parserName, workers, mainLane, hooks, early);
  } finally {
    // Awaited: a finished worker's heap and WASM memory are returned before linking needs room.
    await early?.close();
  }
}

async function extractAllWith(sources: SourceFile[], parserName: BackendName, workers: number, mainLane: boolean, hooks: AnalyzeHooks, early: WorkerPool | undefined): Promise<ExtractResult[]> {
  const prepStarted = performance.now();
  // The cache keys need every file's own macros up front; otherwise the lanes scan them.
  const { jobs, shared, local } = hooks.cacheDir ? prepareJobs(sources) : prepareJobs(sources, true);
  debug(() => `prepare (macro partition, includes) ${Math.round(performance.now() - prepStarted)} ms`);
  const total = jobs.length;
  const cached: ExtractResult[] = [];
  let todo = jobs;
  const keys = new Map<string, string>();
  if (hooks.cacheDir) {
    const fingerprint = macroTableOf(shared).fingerprint();
    todo = [];
    await fs.mkdir(hooks.cacheDir, { recursive: true });
    await Promise.all(jobs.map(async (j) => {
      const key = cacheKey(j, fingerprint, local?.get(j.file), parserName);
      keys.set(j.file, key);
      try {
        const facts = JSON.parse(await fs.readFile(path.join(hooks.cacheDir!, `${key}.json`), 'utf8')) as FileFacts;
        cached.push({ file: j.file, facts });
      } catch {
        todo.push(j);
      }
    }));
  }
  let done = cached.length;
  hooks.onProgress?.(done, total);
  const report = (n: number) => {
    done += n;
    hooks.onProgress?.(done, total);
  };
  let fresh: ExtractResult[];
  if (workers <= 0 || todo.length < 2) {
    fresh = await extractInProcess(todo, parserName, shared, local, hooks, report);
  } else {
    const pool = early ?? new WorkerPool(workers, parserName);
    try {
      fresh = await extractInWorkers(todo, parserName, shared, local, pool, mainLane, hooks, report);
    } finally {
      if (!early) await pool.close();
    }
  }
  if (hooks.cacheDir) {
    await Promise.all(fresh.map(async (r) => {
      if (!('facts' in r)) return;
      const file = path.join(hooks.cacheDir!, `${keys.get(r.file)}.json`);
      await fs.writeFile(file, JSON.stringify(r.facts)).catch(() => undefined);
    }));
  }
  return [...cached, ...fresh].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LockpathError('analysis cancelled');
}

async function extractInProcess(jobs: ExtractJob[], parserName: BackendName, shared: MacroDef[], local: LocalMacros, hooks: AnalyzeHooks, report: (n: number) => void): Promise<ExtractResult[]> {
  const parser = await sharedParser(parserName);
  const table = macroTableOf(shared);
  const out: ExtractResult[] = [];
  // Small slices with a yield between them keep a server responsive while it indexes.
  const slice = 16;
  for (let i = 0; i < jobs.length; i += slice) {
    throwIfAborted(hooks.signal);
    const batch = jobs.slice(i, i + slice);
    out.push(...extractBatch(batch, parser, table, local));
    report(batch.length);
    if (hooks.onProgress || hooks.signal) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** Files handed to a worker per request, by size: small enough for timely progress and
 * cancellation and for the last requests to even out the workers' finishing times. */
const CHUNK_BYTES = 128 * 1024;

/** One worker thread and the requests it has not answered yet (it answers them in order). */
class PoolWorker {
  private readonly pending: { resolve(r: ExtractResult[]): void; reject(e: Error): void; files: number }[] = [];
  private failure: string | undefined;
  /** Whether the shared macro table has been sent. */
  hasTable = false;

  constructor(readonly thread: Worker) {
    // Listening from the start: a worker can fail before its first request, and a request to a
    // dead worker would otherwise wait forever.
    thread.on('message', (res: WorkerResponse) => {
      const p = this.pending.shift();
      if (!p) return;
      if (res.ok) {
        const parseStarted = performance.now();
        const results = JSON.parse(res.results) as ExtractResult[];
        debug(() => `worker: ${p.files} files at +${Math.round(res.startedAt - debugOrigin())} ms in ${Math.round(res.ms)} ms (stringify ${Math.round(res.stringifyMs)}), parsed here in ${Math.round(performance.now() - parseStarted)} ms`);
        p.resolve(results);
      } else p.reject(new Error(`parser worker failed: ${res.error}`));
    });
    thread.on('error', (err) => this.fail(err.message));
    thread.on('exit', (code) => this.fail(`exited with code ${code}`));
  }

  private fail(why: string): void {
    this.failure ??= why;
    for (const p of this.pending.splice(0)) p.reject(new Error(`parser worker failed: ${this.failure}`));
  }

  request(req: WorkerRequest): Promise<ExtractResult[]> {
    if (this.failure) return Promise.reject(new Error(`parser worker failed: ${this.failure}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, files: req.jobs.length });
      this.thread.postMessage(req);
    });
  }
}

/** Worker threads for one analysis. */
class WorkerPool {
  readonly workers: PoolWorker[];

  constructor(n: number, parser: BackendName) {
    this.workers = Array.from({ length: n }, () => new PoolWorker(startWorker(parser)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

/** Requests queued per worker: one waiting behind the running one, so a worker never idles
 * while this thread is busy (extracting its own share, or parsing another worker's reply). */
const IN_FLIGHT = 2;

async function extractInWorkers(jobs: ExtractJob[], parserName: BackendName, shared: MacroDef[], local: LocalMacros, pool: WorkerPool, mainLane: boolean, hooks: AnalyzeHooks, report: (n: number) => void): Promise<ExtractResult[]> {
  // One queue, largest files first, pulled by whichever thread is free: per-file cost is far from
  // proportional to size (error recovery, macro expansion), so a static split by bytes leaves one
  // worker finishing late.
  const queue = [...jobs].sort((a, b) => b.text.length - a.text.length || (a.file < b.file ? -1 : 1));
  let next = 0;
  let failed = false;
  let remaining = queue.reduce((n, j) => n + j.text.length, 0);
  const lanes = pool.workers.length + (mainLane ? 1 : 0);
  const take = (): ExtractJob[] => {
    // Smaller requests towards the end (a quarter of each lane's share of what is left), so the
    // lanes finish together; a worker also holds one queued request that no other lane can take.
    const limit = Math.min(CHUNK_BYTES, Math.ceil(remaining / (4 * lanes)));
    const chunk: ExtractJob[] = [];
    let bytes = 0;
    while (!failed && next < queue.length && (chunk.length === 0 || bytes + queue[next].text.length <= limit)) {
      bytes += queue[next].text.length;
      chunk.push(queue[next++]);
    }
    remaining -= bytes;
    return chunk;
  };
  const send = async (worker: PoolWorker, chunk: ExtractJob[]): Promise<ExtractResult[]> => {
    const res = await worker.request({
      parser: parserName,
      jobs: chunk,
      // The shared macros are sent once; the worker keeps the table.
      sharedMacros: worker.hasTable ? null : shared,
      localMacros: local ? chunk.filter((j) => local.has(j.file)).map((j) => [j.file, local.get(j.file)!] as [string, MacroDef[]]) : null,
    });
    report(chunk.length);
    return res;
  };
  const workerLane = async (worker: PoolWorker): Promise<ExtractResult[]> => {
    const out: ExtractResult[] = [];
    const inFlight: Promise<ExtractResult[]>[] = [];
    for (;;) {
      while (inFlight.length < IN_FLIGHT) {
        throwIfAborted(hooks.signal);
        const chunk = take();
        if (!chunk.length) break;
        const reply = send(worker, chunk);
        worker.hasTable = true;
        // Handled when its turn comes; a rejection must not go unhandled meanwhile.
        reply.catch(() => undefined);
        inFlight.push(reply);
      }
      if (!inFlight.length) return out;
      out.push(...await inFlight.shift()!);
    }
  };
  // This thread's own share: no copy of the facts has to cross a thread boundary.
  const ownLane = async (): Promise<ExtractResult[]> => {
    const parser = await sharedParser(parserName);
    const table = macroTableOf(shared);
    const caches = new BatchCaches(parser);
    const out: ExtractResult[] = [];
    let busyMs = 0;
    try {
      for (let chunk = take(); chunk.length; chunk = take()) {
        throwIfAborted(hooks.signal);
        const started = performance.now();
        out.push(...extractBatch(chunk, parser, table, local, caches));
        busyMs += performance.now() - started;
        debug(() => `main: ${chunk.length} files at +${Math.round(performance.timeOrigin + started - debugOrigin())} ms in ${Math.round(performance.now() - started)} ms`);
        report(chunk.length);
        // Lets worker replies in, so their next requests go out.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      caches.dispose();
    }
    debug(() => `main thread: ${out.length} files in ${Math.round(busyMs)} ms`);
    return out;
  };
  const running = pool.workers.map(workerLane);
  if (mainLane) running.push(ownLane());
  try {
    return (await Promise.all(running)).flat();
  } catch (err) {
    failed = true;
    // Let the other lanes stop before the pool is closed under them.
    await Promise.allSettled(running);
    throw err;
  }
}

function startWorker(parser: BackendName): Worker {
  const bundled = path.join(__dirname, 'analyzer-worker.js');
  // A larger young generation: extraction allocates many short-lived node wrappers.
  if (existsSync(bundled)) return new Worker(bundled, { workerData: { parser }, resourceLimits: { maxYoungGenerationSizeMb: 48 } });
  // Running from sources (tests under tsx): load the TypeScript entry through tsx's require hook.
  const entry = JSON.stringify(path.join(__dirname, 'workerMain.ts'));
  return new Worker(`require('tsx/cjs/api').register(); require(${entry});`, { eval: true, workerData: { parser } });
}
