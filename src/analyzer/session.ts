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
import { link } from './link/linker';
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
import { suggest } from './query/resolveName';
import { MODEL_FILE_NAME } from './project';

export interface SessionOptions extends AnalyzeHooks {
  parser?: BackendName;
  workers?: number;
  selection?: Partial<FileSelection>;
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

  /** Re-reads the whole tree from disk (start-up, or after many files changed). */
  async reload(): Promise<void> {
    const { files, skipped } = await loadSources(this.root, await listFiles(this.root, this.selection), this.selection);
    this.sources = new Map(files.map((f) => [f.file, f.text]));
    this.skipped = skipped;
    this.prepared = null;
    this.loadModelText(await readModel(this.root));
    this.analysis = await analyzeSources(this.root, files, skipped, { ...this.options, profile: this.profile });
    this.runConcurrency();
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

  /** A file's new text (null: deleted). Returns false when nothing changed. */
  async updateFile(relFile: string, text: string | null): Promise<boolean> {
    const previous = this.sources.get(relFile);
    if (previous === text || (previous === undefined && text === null)) return false;
    const macrosChanged = relFile.endsWith('.h') && macroSignature(previous) !== macroSignature(text);
    const includesChanged = includeSignature(previous) !== includeSignature(text);
    if (text === null) this.sources.delete(relFile);
    else this.sources.set(relFile, text);
    const files: SourceFile[] = [...this.sources].map(([file, t]) => ({ file, text: t })).sort((a, b) => (a.file < b.file ? -1 : 1));
    if (macrosChanged || includesChanged || previous === undefined || text === null) {
      // Macro visibility may change for other files: extract everything again.
      this.prepared = null;
      this.analysis = await analyzeSources(this.root, files, this.skipped, { ...this.options, profile: this.profile, onProgress: undefined });
    } else {
      const started = performance.now();
      // Macro visibility did not change (same includes, no header macros edited): reuse the
      // tree's macro table and include closure, and rescan only this file's own #defines.
      const prep = (this.prepared ??= preparedScope(files));
      const own = relFile.endsWith('.h') ? [] : scanMacroDefinitions(text!, relFile);
      const job = { file: relFile, text: text!, ...(prep.visible.has(relFile) ? { visibleHeaders: prep.visible.get(relFile)! } : {}) };
      const parser = await sharedParser(this.options.parser ?? 'wasm');
      const [result] = extractBatch([job], parser, prep.table, new Map(own.length ? [[relFile, own]] : []));
      const facts = this.analysis.facts.filter((f) => f.file !== relFile);
      if ('facts' in result) facts.push(result.facts);
      facts.sort((a, b) => (a.file < b.file ? -1 : 1));
      const program = link(facts, this.profile);
      this.analysis = {
        root: this.root,
        program,
        facts,
        sources: files,
        graph: graphJson(this.root, program, facts, [...this.skipped], { parseMs: 0, analysisMs: performance.now() - started, parserName: this.options.parser ?? 'wasm', workers: 0 }),
      };
    }
    this.runConcurrency();
    return true;
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
    this.concurrency = analyzeConcurrency(this.analysis.program, this.profile);
    if (this.model) {
      applyAllowRules(this.concurrency.findings, this.model.allows);
      this.concurrency.summary.suppressed = this.concurrency.findings.filter((f) => f.suppressed).length;
      for (const c of FINDING_CLASSES) this.concurrency.summary.counts[c] = this.concurrency.findings.filter((f) => f.class === c && !f.suppressed).length;
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
