import { promises as fs } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { analyzeSources, checkDirectory, graphJson, prepareJobs, sharedParser } from './analyze';
import type { Analysis, AnalyzeHooks } from './analyze';
import { DEFAULT_SELECTION, listFiles, loadSources } from './files';
import type { FileSelection, SourceFile } from './files';
import { extractBatch, macroTableOf } from './extract/extractBatch';
import { scanMacroDefinitions } from './macros';
import type { MacroTable } from './macros';
import { link, relink } from './link/linker';
import type { LinkedProgram } from './link/linker';
import { analyzeConcurrency } from './concurrency/findings';
import type { ConcurrencyResult } from './concurrency/findings';
import { applyAllowRules } from './concurrency/suppress';
import { FINDING_CLASSES } from './concurrency/types';
import type { Finding } from './concurrency/types';
import { checkModelNames, formatDiagnostic, parseModelFile } from './modelFile/modelFile';
import type { ModelDiagnostic, ModelFile } from './modelFile/modelFile';
import { mergeProfiles } from './profile/profile';
import type { Profile } from './profile/profile';
import { redisModuleProfile } from './profile/redisModule';
import type { BackendName } from './parse/syntax';
import type { SkippedFile } from './graph';
import type { FileFacts } from './model';
import { suggest } from './query/resolveName';
import { MODEL_FILE_NAME } from './project';
import type { ParserBackend, SyntaxTree } from './parse/syntax';
import { SnippetCache } from './extract/extractFile';
import type { ExpansionResult } from './macros';
import { applyChange, editTree } from './incremental/edits';
import type { TextChange } from './incremental/edits';
import { copyPositions, positionOnlyChange, shiftDerived } from './incremental/shift';
import { loadSnapshot, saveSnapshot as saveSnapshotFile, snapshotKey } from './cache/snapshot';

export interface SessionOptions extends AnalyzeHooks {
  parser?: BackendName;
  workers?: number;
  selection?: Partial<FileSelection>;
  /** A folder for whole-tree snapshots (see cache/snapshot.ts): a start with unchanged inputs restores one. */
  snapshotDir?: string;
}

/**
 * A long-lived analysis of one tree for the language server: files live in memory, an edit
 * re-extracts only the edited file (all files when a header's macros change), then re-links and
 * re-runs the concurrency pass.
 */
export class ProjectSession {
  analysis!: Analysis;
  concurrency!: ConcurrencyResult;
  model: ModelFile | null = null;
  modelDiagnostics: ModelDiagnostic[] = [];
  private sources = new Map<string, string>();
  /** The tree's header macro table and include closures, reused by single-file updates. */
  private prepared: { table: MacroTable; visible: Map<string, string[]> } | null = null;
  private skipped: SkippedFile[] = [];
  private profile: Profile = redisModuleProfile;
  private readonly selection: FileSelection;
  /** Bumped on every update; callers can tell whether results changed. */
  revision = 0;
  /**
   * Syntax trees of the files being edited (open in the editor), with the text each parses: the
   * next edit is applied to the tree and re-parsed incrementally instead of from scratch.
   */
  private trees = new Map<string, { tree: SyntaxTree; text: string }>();
  /**
   * Files whose positions were shifted in place, by revision: results computed from a finding at
   * an earlier revision are stale if the finding mentions one of them (findings, sites and
   * evidence are otherwise new objects whenever they change).
   */
  private shifts: { revision: number; file: string }[] = [];
  /** The last revision dropped from `shifts`. */
  private shiftsTrimmedAt = 0;

  /** Files shifted in place after `revision`; null when that is too long ago to tell. */
  shiftedSince(revision: number): Set<string> | null {
    if (revision < this.shiftsTrimmedAt) return null;
    const out = new Set<string>();
    for (let i = this.shifts.length - 1; i >= 0 && this.shifts[i].revision > revision; i--) out.add(this.shifts[i].file);
    return out;
  }

  /** How the last update was done (tests and benchmarks read it). */
  lastUpdate: UpdateStats | null = null;

  private constructor(readonly root: string, private readonly options: SessionOptions) {
    this.selection = { ...DEFAULT_SELECTION, ...options.selection };
  }

  static async open(root: string, options: SessionOptions = {}): Promise<ProjectSession> {
    const session = new ProjectSession(await checkDirectory(root), options);
    await session.reload();
    return session;
  }

  get findings(): Finding[] {
    return this.concurrency.findings;
  }

  /** Milliseconds per phase of the last reload (read, key, snapshot, restore or analysis, concurrency). */
  startPhases: Record<string, number> = {};
  /** How the last reload was done: a full analysis, or restored from a snapshot. */
  startedFrom: 'analysis' | 'snapshot' = 'analysis';
  /** The snapshot key of the tree as last read from disk, while nothing has changed since. */
  private unsavedSnapshot: { key: string; revision: number } | null = null;

  /** Re-reads the whole tree from disk (start-up, or after many files changed). */
  async reload(): Promise<void> {
    const started = performance.now();
    const phases: Record<string, number> = {};
    let mark = started;
    const lap = (name: string) => { const now = performance.now(); phases[name] = now - mark; mark = now; };
    this.startPhases = phases;
    const { files, skipped } = await loadSources(this.root, await listFiles(this.root, this.selection), this.selection);
    lap('read');
    this.sources = new Map(files.map((f) => [f.file, f.text]));
    this.skipped = skipped;
    this.prepared = null;
    for (const rel of [...this.trees.keys()]) this.dropTree(rel);
    const modelText = await readModel(this.root);
    this.loadModelText(modelText);
    this.unsavedSnapshot = null;
    const dir = this.options.snapshotDir;
    const key = dir ? snapshotKey({ files, skipped, modelText, selection: this.selection, parser: this.options.parser ?? 'wasm' }) : '';
    lap('key');
    const restored = dir ? await loadSnapshot(dir, this.root, key, this.profile) : null;
    lap('snapshot');
    if (restored) {
      this.options.onProgress?.(files.length, files.length);
      const { program, facts } = restored;
      this.analysis = {
        root: this.root, program, facts, sources: files,
        graph: graphJson(this.root, program, facts, [...restored.skipped], { parseMs: 0, analysisMs: performance.now() - started, parserName: this.options.parser ?? 'wasm', workers: 0 }),
      };
      this.concurrency = restored.concurrency;
      this.startedFrom = 'snapshot';
      this.afterConcurrency();
      lap('restore');
      return;
    }
    this.analysis = await analyzeSources(this.root, files, skipped, { ...this.options, profile: this.profile });
    lap('analysis');
    this.runConcurrency();
    lap('concurrency');
    this.startedFrom = 'analysis';
    if (dir) this.unsavedSnapshot = { key, revision: this.revision };
  }

  /**
   * Stores the state the last reload computed as a snapshot, unless something changed since (an
   * editor's unsaved text must never be stored under the key of the files on disk). Meant to run
   * after the results were published: it serializes the whole tree.
   */
  async saveSnapshot(): Promise<boolean> {
    const pending = this.unsavedSnapshot;
    if (!pending || pending.revision !== this.revision || !this.options.snapshotDir) return false;
    this.unsavedSnapshot = null;
    const skipped = this.analysis.graph.skipped;
    return saveSnapshotFile(this.options.snapshotDir, this.root, pending.key, this.analysis.facts, skipped, this.analysis.program, this.concurrency);
  }

  /** Relative path of an absolute file inside this tree, or null. */
  relative(absFile: string): string | null {
    const rel = path.relative(this.root, absFile);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : null;
  }

  isAnalysed(relFile: string): boolean {
    return this.sources.has(relFile);
  }

  private matchers: { include: (f: string) => boolean; exclude: (f: string) => boolean } | undefined;

  /** Whether a file belongs to the analysed set (include/exclude globs). */
  wantsFile(relFile: string): boolean {
    this.matchers ??= { include: picomatch(this.selection.include), exclude: picomatch(this.selection.exclude, { dot: true }) };
    return this.matchers.include(relFile) && !this.matchers.exclude(relFile);
  }

  /**
   * A file's new text (null: deleted). Returns false when nothing changed. `changes`, when given,
   * are the editor's changes since the text of the previous call for this file: the file's syntax
   * tree is kept between calls and re-parsed incrementally. A call without them (a file changed on
   * disk, or closed) drops the kept tree.
   */
  async updateFile(relFile: string, text: string | null, changes?: readonly TextChange[]): Promise<boolean> {
    const previous = this.sources.get(relFile);
    if (!changes || text === null) this.dropTree(relFile);
    if (previous === text || (previous === undefined && text === null)) {
      // An editor opened the file: parse it now, so that its first edit re-parses incrementally.
      if (changes && text !== null && !this.trees.has(relFile) && this.wantsFile(relFile)) {
        this.trees.set(relFile, { tree: (await sharedParser(this.options.parser ?? 'wasm')).parse(text), text });
      }
      return false;
    }
    const started = performance.now();
    const phases: Record<string, number> = {};
    let mark = started;
    const lap = (name: string) => { const now = performance.now(); phases[name] = now - mark; mark = now; };
    const macrosChanged = relFile.endsWith('.h') && macroSignature(previous) !== macroSignature(text);
    const includesChanged = includeSignature(previous) !== includeSignature(text);
    if (text === null) this.sources.delete(relFile);
    else this.sources.set(relFile, text);
    const files: SourceFile[] = [...this.sources].map(([file, t]) => ({ file, text: t })).sort((a, b) => (a.file < b.file ? -1 : 1));
    if (macrosChanged || includesChanged || previous === undefined || text === null) {
      // Macro visibility may change for other files: extract everything again.
      this.dropTree(relFile);
      this.prepared = null;
      this.analysis = await analyzeSources(this.root, files, this.skipped, { ...this.options, profile: this.profile, onProgress: undefined });
      this.runConcurrency();
      this.lastUpdate = { kind: 'full', parse: 'full', ms: performance.now() - started };
      return true;
    }
    // Macro visibility did not change (same includes, no header macros edited): reuse the
    // tree's macro table and include closure, and rescan only this file's own #defines.
    const prep = (this.prepared ??= preparedScope(files));
    const own = relFile.endsWith('.h') ? [] : scanMacroDefinitions(text, relFile);
    const job = { file: relFile, text, ...(prep.visible.has(relFile) ? { visibleHeaders: prep.visible.get(relFile)! } : {}) };
    const parser = await sharedParser(this.options.parser ?? 'wasm');
    lap('prepare');
    const parsed = changes ? this.parseKept(relFile, text, changes, parser) : null;
    lap('parse');
    const [result] = extractBatch([job], parser, prep.table, new Map(own.length ? [[relFile, own]] : []), undefined, {
      ...(parsed ? { trees: new Map([[relFile, parsed.tree]]) } : {}),
      ...this.extractCaches(relFile, parser, prep.table, JSON.stringify([own, job.visibleHeaders ?? null])),
    });
    lap('extract');
    const oldIndex = this.analysis.facts.findIndex((f) => f.file === relFile);
    const oldFacts = oldIndex >= 0 ? this.analysis.facts[oldIndex] : undefined;
    if (oldFacts && 'facts' in result && this.shiftPositions(relFile, text, oldFacts, result.facts)) {
      lap('shift');
      this.lastUpdate = { kind: 'positions', parse: parsed?.incremental ? 'incremental' : 'full', ms: performance.now() - started, phases };
      return true;
    }
    const facts = this.analysis.facts.filter((f) => f.file !== relFile);
    if ('facts' in result) facts.push(result.facts);
    facts.sort((a, b) => (a.file < b.file ? -1 : 1));
    lap('compare');
    // Calls added or removed without new function-pointer flows: keep the solved points-to state.
    const incremental = oldFacts && 'facts' in result ? relink(this.analysis.program, facts, this.profile, oldFacts, result.facts) : null;
    const program = incremental ?? link(facts, this.profile);
    const analysis: Analysis = {
      root: this.root,
      program,
      facts,
      sources: files,
      graph: graphJson(this.root, program, facts, [...this.skipped], { parseMs: 0, analysisMs: performance.now() - started, parserName: this.options.parser ?? 'wasm', workers: 0 }),
    };
    lap('link');
    // Requests waiting since the update began are answered now, from the previous results (which
    // stay consistent: the new program and findings replace them together below).
    await new Promise((r) => setImmediate(r));
    lap('yield');
    const concurrency = this.computeConcurrency(program);
    this.analysis = analysis;
    this.concurrency = concurrency;
    this.afterConcurrency();
    lap('concurrency');
    this.lastUpdate = { kind: 'relink', parse: parsed?.incremental ? 'incremental' : 'full', link: incremental ? 'incremental' : 'full', ms: performance.now() - started, phases };
    return true;
  }

  /**
   * Parses `text` with the file's kept tree when `changes` lead from the kept tree's text to it
   * (checked on the strings, so a lost or reordered change costs a full parse, never a wrong
   * tree), and keeps the new tree.
   */
  private parseKept(relFile: string, text: string, changes: readonly TextChange[], parser: ParserBackend): { tree: SyntaxTree; incremental: boolean } {
    const kept = this.trees.get(relFile);
    let tree: SyntaxTree;
    let incremental = false;
    if (kept && kept.tree.edit && changes.reduce(applyChange, kept.text) === text) {
      editTree(kept.tree, kept.text, changes);
      tree = parser.parse(text, kept.tree);
      kept.tree.delete?.();
      incremental = true;
    } else {
      kept?.tree.delete?.();
      tree = parser.parse(text);
    }
    this.trees.set(relFile, { tree, text });
    return { tree, incremental };
  }

  /**
   * Parsed macro expansions and snippet trees kept across edits of one file: typing in a file
   * re-extracts it again and again with the same macros in scope. Expansions are valid while the
   * macro table and the file's own macros and includes (`scopeKey`) are the same.
   */
  private editCaches: { file: string; scopeKey: string; table: MacroTable; snippets: SnippetCache; expansions: Map<string, ExpansionResult> } | null = null;

  private extractCaches(relFile: string, parser: ParserBackend, table: MacroTable, scopeKey: string): { snippets: SnippetCache; expansions: Map<string, ExpansionResult> } {
    const c = this.editCaches;
    if (c && c.file === relFile && c.scopeKey === scopeKey && c.table === table) return c;
    // Snippet trees depend only on their text and survive a change of file or scope.
    const snippets = c?.snippets ?? new SnippetCache(parser);
    this.editCaches = { file: relFile, scopeKey, table, snippets, expansions: new Map() };
    return this.editCaches;
  }

  private dropTree(relFile: string): void {
    this.trees.get(relFile)?.tree.delete?.();
    this.trees.delete(relFile);
  }

  /**
   * When the file's new facts equal the old ones up to positions, moves the positions in the
   * linked program, the findings and the old facts (which the program references) instead of
   * re-linking. Returns false, having changed nothing, when that does not apply.
   */
  private shiftPositions(relFile: string, text: string, oldFacts: FileFacts, newFacts: FileFacts): boolean {
    const map = positionOnlyChange(oldFacts, newFacts);
    if (!map) return false;
    const program = this.analysis.program;
    // Ids of same-name definitions in one file carry their line (`name@file:12`): a relink would
    // rename them, so only edits that keep those lines qualify.
    for (const fn of program.functions) {
      if (fn.file === relFile && fn.line !== undefined && fn.id.endsWith(`:${fn.line}`) && map.line(fn.line) !== fn.line) return false;
    }
    if (map.moves) {
      // Derived positions first (some are the facts' own Site objects, shifted once here), then
      // the facts themselves take the new values.
      const roots = [program.functions, program.edges, program.unresolved, this.concurrency.findings, this.concurrency.mayBlock];
      if (!shiftDerived(roots, relFile, map)) return false;
      copyPositions(oldFacts, newFacts);
    }
    this.analysis = { ...this.analysis, sources: this.analysis.sources.map((s) => (s.file === relFile ? { file: relFile, text } : s)) };
    this.revision++;
    if (map.moves) this.shifts.push({ revision: this.revision, file: relFile });
    if (this.shifts.length > 1000) this.shiftsTrimmedAt = this.shifts.splice(0, 500).pop()!.revision;
    return true;
  }

  /** Loads the parser (a session restored from a snapshot has not needed it yet). */
  async warmUp(): Promise<void> {
    await sharedParser(this.options.parser ?? 'wasm');
  }

  /** A new model file text (null: none); re-runs what depends on it. */
  async updateModel(text: string | null): Promise<void> {
    this.loadModelText(text);
    this.analysis = await analyzeSources(this.root, [...this.sources].map(([file, t]) => ({ file, text: t })).sort((a, b) => (a.file < b.file ? -1 : 1)), this.skipped, { ...this.options, profile: this.profile, onProgress: undefined });
    this.runConcurrency();
  }

  /** Diagnostics for a model text, including unknown names (checked against this tree). */
  checkModel(text: string, file = MODEL_FILE_NAME): ModelDiagnostic[] {
    const model = parseModelFile(text, file);
    const known = new Set(this.analysis.program.functions.map((f) => f.name));
    return [...model.diagnostics, ...checkModelNames(model, known, (n) => suggest(known, n))];
  }

  private loadModelText(text: string | null): void {
    this.model = text === null ? null : parseModelFile(text, MODEL_FILE_NAME);
    this.modelDiagnostics = this.model?.diagnostics ?? [];
    const usable = this.model && !this.modelDiagnostics.some((d) => d.severity === 'error');
    this.profile = usable ? mergeProfiles(redisModuleProfile, this.model!.profile) : redisModuleProfile;
  }

  private runConcurrency(): void {
    this.concurrency = this.computeConcurrency(this.analysis.program);
    this.afterConcurrency();
  }

  /** The concurrency pass over `program`, with the model's allow rules applied. */
  private computeConcurrency(program: LinkedProgram): ConcurrencyResult {
    const result = analyzeConcurrency(program, this.profile);
    if (this.model) {
      applyAllowRules(result.findings, this.model.allows);
      result.summary.suppressed = result.findings.filter((f) => f.suppressed).length;
      for (const c of FINDING_CLASSES) result.summary.counts[c] = result.findings.filter((f) => f.class === c && !f.suppressed).length;
    }
    return result;
  }

  /** Model diagnostics that depend on the program's names; bumps the revision. */
  private afterConcurrency(): void {
    if (this.model) {
      const known = new Set(this.analysis.program.functions.map((f) => f.name));
      this.modelDiagnostics = [...this.model.diagnostics, ...checkModelNames(this.model, known, (n) => suggest(known, n))];
    }
    this.revision++;
  }

  modelMessages(): string[] {
    return this.modelDiagnostics.map((d) => formatDiagnostic(MODEL_FILE_NAME, d));
  }
}

async function readModel(root: string): Promise<string | null> {
  try {
    return await fs.readFile(path.join(root, MODEL_FILE_NAME), 'utf8');
  } catch {
    return null;
  }
}

export interface UpdateStats {
  /** positions: only positions moved, shifted in place; relink: one file re-extracted, program re-linked; full: every file re-extracted. */
  kind: 'positions' | 'relink' | 'full';
  /** incremental: the kept syntax tree was edited and re-parsed. */
  parse: 'incremental' | 'full';
  /** For relinks: incremental when the solved points-to state was reused. */
  link?: 'incremental' | 'full';
  ms: number;
  /** Milliseconds per phase (parse, extract, shift or compare/link/concurrency). */
  phases?: Record<string, number>;
}

function preparedScope(files: readonly SourceFile[]): { table: MacroTable; visible: Map<string, string[]> } {
  const { jobs, shared } = prepareJobs(files);
  const visible = new Map<string, string[]>();
  for (const j of jobs) if (j.visibleHeaders) visible.set(j.file, j.visibleHeaders);
  return { table: macroTableOf(shared), visible };
}

function macroSignature(text: string | null | undefined): string {
  if (!text) return '';
  return scanMacroDefinitions(text, '').map((d) => `${d.name}(${d.params?.join(',') ?? ''})=${d.body}`).join('\n');
}

function includeSignature(text: string | null | undefined): string {
  if (!text) return '';
  return (text.match(/^[ \t]*#[ \t]*include[^\n]*/gm) ?? []).join('\n');
}
