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

export interface AnalyzeOptions {
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
}

const IN_PROCESS_BELOW_BYTES = 512 * 1024;

export async function analyzeTree(root: string, options: AnalyzeOptions = {}): Promise<Analysis> {
  const started = performance.now();
  const absRoot = path.resolve(root);
  let stat;
  try {
    stat = await fs.stat(absRoot);
  } catch {
    throw new LockpathError(`${root}: no such directory`);
  }
  if (!stat.isDirectory()) throw new LockpathError(`${root}: not a directory`);
  const selection: FileSelection = { ...DEFAULT_SELECTION, ...options.selection };
  const parserName = options.parser ?? 'wasm';

  const { files, skipped } = await loadSources(absRoot, await listFiles(absRoot, selection), selection);
  const parseStarted = performance.now();
  const totalBytes = files.reduce((n, f) => n + f.text.length, 0);
  const workers = options.workers ?? (totalBytes < IN_PROCESS_BELOW_BYTES ? 0 : Math.min(os.availableParallelism(), 4));
  const results = await extractAll(files, parserName, workers);
  const parseMs = performance.now() - parseStarted;

  const facts: FileFacts[] = [];
  for (const r of results) {
    if ('facts' in r) facts.push(r.facts);
    else skipped.push({ file: r.file, reason: 'parse-failed', detail: r.error });
  }
  const program = link(facts, options.profile ?? redisModuleProfile);
  const analysisMs = performance.now() - started;

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
    parseMs: Math.round(parseMs),
    analysisMs: Math.round(analysisMs),
    peakRssMb: Math.round(peakRssBytes() / (1024 * 1024)),
    parser: parserName,
    workers,
  };
  const graph: GraphJson = {
    version: 1,
    root: absRoot,
    functions: program.functions,
    edges: program.edges,
    unresolved: program.unresolved,
    skipped: skipped.sort((a, b) => (a.file < b.file ? -1 : 1)),
    notes: facts.flatMap((f) => f.notes),
    stats,
  };
  return { root: absRoot, graph, program, facts };
}

export function peakRssBytes(): number {
  // resourceUsage().maxRSS is in kilobytes and covers worker threads (same process).
  return process.resourceUsage().maxRSS * 1024;
}

let inProcessParser: Promise<ParserBackend> | undefined;
let inProcessParserName: BackendName | undefined;

async function extractAll(sources: SourceFile[], parserName: BackendName, workers: number): Promise<ExtractResult[]> {
  const { shared, local } = partitionMacros(sources);
  const visible = visibleHeadersByFile(sources);
  const files: ExtractJob[] = sources.map((s) => (s.file.endsWith('.h') ? s : { ...s, visibleHeaders: [...visible.get(s.file)!] }));
  if (workers <= 0 || files.length < 2) {
    if (!inProcessParser || inProcessParserName !== parserName) {
      inProcessParser = createParserBackend(parserName);
      inProcessParserName = parserName;
    }
    return extractBatch(files, await inProcessParser, macroTableOf(shared), local);
  }
  const batches = balance(files, workers);
  const responses = await Promise.all(batches.map((jobs) => runWorker({
    parser: parserName,
    jobs,
    sharedMacros: shared,
    localMacros: jobs.filter((j) => local.has(j.file)).map((j) => [j.file, local.get(j.file)!] as [string, MacroDef[]]),
  })));
  return responses.flat().sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
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

function startWorker(): Worker {
  const bundled = path.join(__dirname, 'analyzer-worker.js');
  // A larger young generation: extraction allocates many short-lived node wrappers.
  if (existsSync(bundled)) return new Worker(bundled, { resourceLimits: { maxYoungGenerationSizeMb: 96 } });
  // Running from sources (tests under tsx): load the TypeScript entry through tsx's require hook.
  const entry = JSON.stringify(path.join(__dirname, 'workerMain.ts'));
  return new Worker(`require('tsx/cjs/api').register(); require(${entry});`, { eval: true });
}

function runWorker(request: WorkerRequest): Promise<ExtractResult[]> {
  return new Promise((resolve, reject) => {
    const worker = startWorker();
    worker.once('message', (res: WorkerResponse) => {
      void worker.terminate();
      if (res.ok) { if (process.env.LOCKPATH_DEBUG) console.error(`worker: ${request.jobs.length} files in ${Math.round(res.ms)} ms`); resolve(res.results); }
      else reject(new Error(`parser worker failed: ${res.error}`));
    });
    worker.once('error', reject);
    worker.postMessage(request);
  });
}
