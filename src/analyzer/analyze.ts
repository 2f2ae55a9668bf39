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
  const results = await extractAll(files, parserName, workers, options);
  const parseMs = performance.now() - parseStarted;

  const facts: FileFacts[] = [];
  for (const r of results) {
    if ('facts' in r) facts.push(r.facts);
    else skipped.push({ file: r.file, reason: 'parse-failed', detail: r.error });
  }
  const program = link(facts, options.profile ?? redisModuleProfile);
  const analysisMs = performance.now() - started;
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

async function extractAll(sources: SourceFile[], parserName: BackendName, workers: number, hooks: AnalyzeHooks): Promise<ExtractResult[]> {
  const { jobs, shared, local } = prepareJobs(sources);
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
  const fresh = workers <= 0 || todo.length < 2
    ? await extractInProcess(todo, parserName, shared, local, hooks, report)
    : await extractInWorkers(todo, parserName, shared, local, workers, hooks, report);
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

/** Greedy size balancing: largest files first, each to the lightest batch. */
function balance(files: ExtractJob[], n: number): ExtractJob[][] {
  const batches: ExtractJob[][] = Array.from({ length: n }, () => []);
  const load = new Array<number>(n).fill(0);
  for (const f of [...files].sort((a, b) => b.text.length - a.text.length)) {
    let best = 0;
    for (let i = 1; i < n; i++) if (load[i] < load[best]) best = i;
    batches[best].push(f);
    load[best] += f.text.length;
  }
  return batches.filter((b) => b.length);
}

async function extractInWorkers(jobs: ExtractJob[], parserName: BackendName, shared: MacroDef[], local: Map<string, MacroDef[]>, workers: number, hooks: AnalyzeHooks, report: (n: number) => void): Promise<ExtractResult[]> {
  // Each worker gets a balanced share, sent in a few slices so progress and cancellation are timely.
  const shares = balance(jobs, workers);
  // Several slices bound the size of each JSON reply (peak memory) and give timely progress.
  const slicesPerWorker = 6;
  const results = await Promise.all(shares.map(async (share) => {
    const worker = startWorker();
    try {
      const out: ExtractResult[] = [];
      const sliceSize = Math.ceil(share.length / slicesPerWorker);
      let first = true;
      for (let i = 0; i < share.length; i += sliceSize) {
        throwIfAborted(hooks.signal);
        const slice = share.slice(i, i + sliceSize);
        out.push(...await request(worker, {
          parser: parserName,
          jobs: slice,
          // The shared macros are sent once; the worker keeps the table.
          sharedMacros: first ? shared : null,
          localMacros: slice.filter((j) => local.has(j.file)).map((j) => [j.file, local.get(j.file)!] as [string, MacroDef[]]),
        }));
        first = false;
        report(slice.length);
      }
      return out;
    } finally {
      void worker.terminate();
    }
  }));
  return results.flat();
}

function startWorker(): Worker {
  const bundled = path.join(__dirname, 'analyzer-worker.js');
  // A larger young generation: extraction allocates many short-lived node wrappers.
  if (existsSync(bundled)) return new Worker(bundled, { resourceLimits: { maxYoungGenerationSizeMb: 48 } });
  // Running from sources (tests under tsx): load the TypeScript entry through tsx's require hook.
  const entry = JSON.stringify(path.join(__dirname, 'workerMain.ts'));
  return new Worker(`require('tsx/cjs/api').register(); require(${entry});`, { eval: true });
}

function request(worker: Worker, req: WorkerRequest): Promise<ExtractResult[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (res: WorkerResponse) => {
      worker.off('error', onError);
      if (res.ok) {
        if (process.env.LOCKPATH_DEBUG) console.error(`worker: ${req.jobs.length} files in ${Math.round(res.ms)} ms`);
        resolve(JSON.parse(res.results) as ExtractResult[]);
      } else reject(new Error(`parser worker failed: ${res.error}`));
    };
    const onError = (err: Error) => {
      worker.off('message', onMessage);
      reject(err);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(req);
  });
}
