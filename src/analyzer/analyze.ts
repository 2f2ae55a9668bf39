import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createParserBackend } from './parse/backends';
import type { BackendName, ParserBackend } from './parse/syntax';
import { DEFAULT_SELECTION, listFiles, loadSources } from './files';
import type { FileSelection, SourceFile } from './files';
import { extractBatch, macroTableOf, partitionMacros } from './extract/extractBatch';
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
export const FACTS_VERSION = 'facts-4';

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

export async function analyzeTree(root: string, options: AnalyzeOptions = {}): Promise<Analysis> {
  const started = performance.now();
  const absRoot = await checkDirectory(root);
  const selection: FileSelection = { ...DEFAULT_SELECTION, ...options.selection };
  const { files, skipped } = await loadSources(absRoot, await listFiles(absRoot, selection), selection);
  return analyzeSources(absRoot, files, skipped, options, started);
}

/** Extraction, linking and statistics for sources already in memory (the server keeps them). */
export async function analyzeSources(absRoot: string, files: SourceFile[], skippedIn: SkippedFile[], options: AnalyzeOptions, started = performance.now()): Promise<Analysis> {
  const skipped = [...skippedIn];
  const parserName = options.parser ?? 'wasm';
  const parseStarted = performance.now();
  const totalBytes = files.reduce((n, f) => n + f.text.length, 0);
  const workers = options.workers ?? (totalBytes < IN_PROCESS_BELOW_BYTES ? 0 : Math.min(os.availableParallelism(), 4));
  // Without a cache every file goes to the workers: start them now, so that their start-up
  // (bundle load, WASM compilation) overlaps the macro and include scan on this thread.
  const early = workers > 0 && files.length >= 2 && !options.cacheDir ? new WorkerPool(workers, parserName) : undefined;
  const results = await extractAll(files, parserName, workers, options, early);
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
    stats,
  };
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
export function prepareJobs(sources: readonly SourceFile[]): { jobs: ExtractJob[]; shared: MacroDef[]; local: Map<string, MacroDef[]> } {
  const { shared, local } = partitionMacros(sources);
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

function debug(message: () => string): void {
  if (process.env.LOCKPATH_DEBUG) console.error(`lockpath: ${message()}`);
}

async function extractAll(sources: SourceFile[], parserName: BackendName, workers: number, hooks: AnalyzeHooks, early: WorkerPool | undefined): Promise<ExtractResult[]> {
  try {
    return await extractAllWith(sources, parserName, workers, hooks, early);
  } finally {
    // Awaited: a finished worker's heap and WASM memory are returned before linking needs room.
    await early?.close();
  }
}

async function extractAllWith(sources: SourceFile[], parserName: BackendName, workers: number, hooks: AnalyzeHooks, early: WorkerPool | undefined): Promise<ExtractResult[]> {
  const prepStarted = performance.now();
  const { jobs, shared, local } = prepareJobs(sources);
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
      const key = cacheKey(j, fingerprint, local.get(j.file), parserName);
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
      fresh = await extractInWorkers(todo, parserName, shared, local, pool, hooks, report);
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

async function extractInProcess(jobs: ExtractJob[], parserName: BackendName, shared: MacroDef[], local: Map<string, MacroDef[]>, hooks: AnalyzeHooks, report: (n: number) => void): Promise<ExtractResult[]> {
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

/** Worker threads for one analysis. */
class WorkerPool {
  readonly workers: Worker[];
  /** Workers that failed or exited, with why: a request to one of them would wait forever. */
  readonly dead = new Map<Worker, string>();

  constructor(n: number, parser: BackendName) {
    this.workers = Array.from({ length: n }, () => {
      const w = startWorker(parser);
      // Started ahead of its first request, so failures are recorded here rather than left as
      // unhandled 'error' events.
      w.on('error', (err) => this.dead.set(w, err.message));
      w.on('exit', (code) => { if (!this.dead.has(w)) this.dead.set(w, `exited with code ${code}`); });
      return w;
    });
  }

  request(worker: Worker, req: WorkerRequest): Promise<ExtractResult[]> {
    const dead = this.dead.get(worker);
    return dead ? Promise.reject(new Error(`parser worker failed: ${dead}`)) : request(worker, req);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

async function extractInWorkers(jobs: ExtractJob[], parserName: BackendName, shared: MacroDef[], local: Map<string, MacroDef[]>, pool: WorkerPool, hooks: AnalyzeHooks, report: (n: number) => void): Promise<ExtractResult[]> {
  // One queue, largest files first, pulled by whichever worker is free: per-file cost is far from
  // proportional to size (error recovery, macro expansion), so a static split by bytes leaves one
  // worker finishing late.
  const queue = [...jobs].sort((a, b) => b.text.length - a.text.length || (a.file < b.file ? -1 : 1));
  let next = 0;
  let failed = false;
  const take = (): ExtractJob[] => {
    const chunk: ExtractJob[] = [];
    let bytes = 0;
    while (!failed && next < queue.length && (chunk.length === 0 || bytes + queue[next].text.length <= CHUNK_BYTES)) {
      bytes += queue[next].text.length;
      chunk.push(queue[next++]);
    }
    return chunk;
  };
  const results = await Promise.all(pool.workers.map(async (worker) => {
    const out: ExtractResult[] = [];
    let first = true;
    try {
      for (let chunk = take(); chunk.length; chunk = take()) {
        throwIfAborted(hooks.signal);
        out.push(...await pool.request(worker, {
          parser: parserName,
          jobs: chunk,
          // The shared macros are sent once; the worker keeps the table.
          sharedMacros: first ? shared : null,
          localMacros: chunk.filter((j) => local.has(j.file)).map((j) => [j.file, local.get(j.file)!] as [string, MacroDef[]]),
        }));
        first = false;
        report(chunk.length);
      }
    } catch (err) {
      failed = true;
      throw err;
    }
    return out;
  }));
  return results.flat();
}

function startWorker(parser: BackendName): Worker {
  const bundled = path.join(__dirname, 'analyzer-worker.js');
  // A larger young generation: extraction allocates many short-lived node wrappers.
  if (existsSync(bundled)) return new Worker(bundled, { workerData: { parser }, resourceLimits: { maxYoungGenerationSizeMb: 48 } });
  // Running from sources (tests under tsx): load the TypeScript entry through tsx's require hook.
  const entry = JSON.stringify(path.join(__dirname, 'workerMain.ts'));
  return new Worker(`require('tsx/cjs/api').register(); require(${entry});`, { eval: true, workerData: { parser } });
}

function request(worker: Worker, req: WorkerRequest): Promise<ExtractResult[]> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (res: WorkerResponse) => {
      settle();
      if (res.ok) {
        debug(() => `worker: ${req.jobs.length} files in ${Math.round(res.ms)} ms`);
        resolve(JSON.parse(res.results) as ExtractResult[]);
      } else reject(new Error(`parser worker failed: ${res.error}`));
    };
    const onError = (err: Error) => {
      settle();
      reject(err);
    };
    const onExit = (code: number) => {
      settle();
      reject(new Error(`parser worker exited (code ${code})`));
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage(req);
  });
}
