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
 * `reuse` (the language server's single-file updates): already-parsed trees of some jobs' texts,
 * kept by the caller for incremental parsing, and caches the caller keeps across calls (it must
 * drop `expansions` when the macros in scope change; `snippets` depend on the text only).
 */
export function extractBatch(jobs: readonly ExtractJob[], parser: ParserBackend, sharedMacros: MacroTable, localMacros: ReadonlyMap<string, MacroDef[]>,
  reuse?: { trees?: ReadonlyMap<string, SyntaxTree>; snippets?: SnippetCache; expansions?: Map<string, ExpansionResult> }): ExtractResult[] {
  const snippets = reuse?.snippets ?? new SnippetCache(parser);
  // Expansions depend on the macros in scope: shared by files that define none of their own.
  const sharedExpansions = new Map<string, ExpansionResult>();
  try {
    return jobs.map((job) => {
      try {
        const own = localMacros.get(job.file);
        const visible = job.visibleHeaders ? new Set(job.visibleHeaders) : null;
        const scope = own || visible ? new FileMacroScope(sharedMacros, own ?? [], visible) : sharedMacros;
        const expansions = reuse?.expansions ?? (own || visible ? new Map<string, ExpansionResult>() : sharedExpansions);
        return { file: job.file, facts: new FileExtractor(job.file, job.text, scope, parser, { snippets, expansions }).extract(reuse?.trees?.get(job.file)) };
      } catch (err) {
        // One file the extractor cannot handle must not cost the whole tree.
        return { file: job.file, error: (err as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(err) };
      }
    });
  } finally {
    if (!reuse?.snippets) snippets.dispose();
  }
}

export function macroTableOf(defs: readonly MacroDef[]): MacroTable {
  const t = new MacroTable();
  t.addAll(defs);
  return t;
}
