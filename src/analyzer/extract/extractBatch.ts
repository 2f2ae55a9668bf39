import type { FileFacts } from '../model';
import type { ParserBackend, SyntaxTree } from '../parse/syntax';
import { MacroTable, scanMacroDefinitions } from '../macros';
import type { MacroDef } from '../macros';
import { FileExtractor, SnippetCache } from './extractFile';
import type { ExpansionResult } from '../macros';
import { FileMacroScope } from './macroScope';

export interface ExtractJob {
  file: string;
  text: string;
  /** Headers this file includes (transitively); absent for headers, which see all macros. */
  visibleHeaders?: string[];
}

export type ExtractResult = { file: string; facts: FileFacts } | { file: string; error: string };

/** Macros of headers are visible everywhere; those of a .c file only in that file. */
export function partitionMacros(sources: readonly ExtractJob[]): { shared: MacroDef[]; local: Map<string, MacroDef[]> } {
  const shared: MacroDef[] = [];
  const local = new Map<string, MacroDef[]>();
  for (const s of sources) {
    const defs = scanMacroDefinitions(s.text, s.file);
    if (s.file.endsWith('.h')) shared.push(...defs);
    else if (defs.length) local.set(s.file, defs);
  }
  return { shared, local };
}

/**
 * The macros each .c file defines for itself: given (a file absent defines none), or null: each
 * file is scanned when it is extracted, so that the scan runs on the extraction threads rather
 * than before any of them can start.
 */
export type LocalMacros = ReadonlyMap<string, MacroDef[]> | null;

function localDefsOf(local: LocalMacros, job: ExtractJob): MacroDef[] | undefined {
  if (local) return local.get(job.file);
  if (job.file.endsWith('.h')) return undefined;
  const defs = scanMacroDefinitions(job.text, job.file);
  return defs.length ? defs : undefined;
}

/**
 * Caches that outlive one batch: a worker keeps them for its whole run, since its batches share
 * the header macro table the expansions depend on.
 */
export class BatchCaches {
  readonly snippets: SnippetCache;
  /** Expansions under the shared table, for files that define no macros and see every header. */
  readonly sharedExpansions = new Map<string, ExpansionResult>();

  constructor(parser: ParserBackend) {
    this.snippets = new SnippetCache(parser);
  }

  dispose(): void {
    this.snippets.dispose();
    this.sharedExpansions.clear();
  }
}

/**
 * `caches`, if given, must have been used with the same parser and shared macro table only.
 * `reuse` (the language server's single-file updates): already-parsed trees of some jobs' texts,
 * kept by the caller for incremental parsing, and caches the caller keeps across calls (it must
 * drop `expansions` when the macros in scope change; `snippets` depend on the text only).
 */
export function extractBatch(jobs: readonly ExtractJob[], parser: ParserBackend, sharedMacros: MacroTable, localMacros: LocalMacros, caches?: BatchCaches,
  reuse?: { trees?: ReadonlyMap<string, SyntaxTree>; snippets?: SnippetCache; expansions?: Map<string, ExpansionResult> }): ExtractResult[] {
  const own = caches ?? new BatchCaches(parser);
  const snippets = reuse?.snippets ?? own.snippets;
  const { sharedExpansions } = own;
  try {
    return jobs.map((job) => {
      snippets.trim();
      try {
        const defs = localDefsOf(localMacros, job);
        const visible = job.visibleHeaders ? new Set(job.visibleHeaders) : null;
        const scope = defs || visible ? new FileMacroScope(sharedMacros, defs ?? [], visible) : sharedMacros;
        // Expansions depend on the macros in scope: shared by files that define none of their own.
        const expansions = reuse?.expansions ?? (defs || visible ? new Map<string, ExpansionResult>() : sharedExpansions);
        return { file: job.file, facts: new FileExtractor(job.file, job.text, scope, parser, { snippets, expansions }).extract(reuse?.trees?.get(job.file)) };
      } catch (err) {
        // One file the extractor cannot handle must not cost the whole tree.
        return { file: job.file, error: (err as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(err) };
      }
    });
  } finally {
    if (!caches) own.dispose();
  }
}

export function macroTableOf(defs: readonly MacroDef[]): MacroTable {
  const t = new MacroTable();
  t.addAll(defs);
  return t;
}
