import path from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { ProjectSession } from '../analyzer/session';
import type { CallFact, FunctionFacts } from '../analyzer/model';
import type { LockpathSettings } from '../shared/settings';
import { StatusNotification } from '../shared/protocol';
import { pathToUri, uriToPath } from './lsp';

export interface FolderState {
  uri: string;
  root: string;
  session: ProjectSession | null;
  /** The indexing run in progress (awaited by requests that need results). */
  ready: Promise<ProjectSession | null>;
  abort: AbortController;
}

export interface CallAt { fnIndex: number; fn: FunctionFacts; callIndex: number; call: CallFact }

/**
 * The workspace folders and their analysis sessions. Indexing reports progress and can be
 * cancelled; edits are applied one at a time per folder, in order.
 */
export class Workspace {
  readonly folders = new Map<string, FolderState>();
  private queue = new Map<string, Promise<unknown>>();

  /** `cacheDir`: the extension's storage folder, for per-file facts and whole-tree snapshots. */
  constructor(private readonly connection: Connection, private settings: LockpathSettings, private readonly cacheDir: string | undefined) {}

  setSettings(settings: LockpathSettings): void {
    this.settings = settings;
  }

  get currentSettings(): LockpathSettings {
    return this.settings;
  }

  async addFolder(uri: string, progress?: { report(message: string, percentage?: number): void; token?: { isCancellationRequested: boolean; onCancellationRequested(cb: () => void): unknown }; done(): void }): Promise<void> {
    const root = uriToPath(uri);
    if (!root) return;
    const abort = new AbortController();
    progress?.token?.onCancellationRequested(() => abort.abort());
    const state: FolderState = { uri, root, session: null, ready: Promise.resolve(null), abort };
    this.folders.set(uri, state);
    const started = Date.now();
    state.ready = ProjectSession.open(root, {
      parser: this.settings.parser,
      selection: { include: this.settings.include, exclude: this.settings.exclude },
      signal: abort.signal,
      ...(this.cacheDir ? { cacheDir: path.join(this.cacheDir, 'facts'), snapshotDir: path.join(this.cacheDir, 'snapshots') } : {}),
      onProgress: (parsed, total) => {
        progress?.report(`${parsed} of ${total} files parsed`, total ? Math.floor((parsed / total) * 100) : undefined);
        void this.connection.sendNotification(StatusNotification, { state: 'indexing', folder: uri, parsed, total });
      },
    }).then((session) => {
      state.session = session;
      this.connection.console.info(`lockpath: indexed ${root} in ${Date.now() - started} ms (${session.startedFrom === 'snapshot' ? 'restored from the snapshot' : 'analysed'}; ${Object.entries(session.startPhases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} ms): ${session.analysis.graph.stats.filesParsed} files, ${session.findings.length} findings`);
      this.sendStatus(state);
      return session;
    }, (err: Error) => {
      this.connection.console.error(`lockpath: indexing ${root} failed: ${err.message}`);
      void this.connection.sendNotification(StatusNotification, { state: 'error', folder: uri, message: err.message });
      return null;
    }).finally(() => progress?.done());
    await state.ready;
  }

  /**
   * Work left after a folder's results were published: store the snapshot for the next start
   * (queued like an update, so it never interleaves with one), and load the parser a restored
   * session has not needed yet, so the first edit does not pay for it.
   */
  afterIndex(state: FolderState): void {
    const session = state.session;
    if (!session) return;
    setTimeout(() => {
      void this.enqueue(state, async () => {
        if (await session.saveSnapshot()) this.connection.console.info(`lockpath: stored the snapshot of ${state.root}`);
        await session.warmUp();
      }).catch((err: Error) => this.connection.console.error(`lockpath: storing the snapshot of ${state.root} failed: ${err.message}`));
    }, 0);
  }

  removeFolder(uri: string): void {
    const state = this.folders.get(uri);
    state?.abort.abort();
    this.folders.delete(uri);
  }

  sendStatus(state: FolderState): void {
    const s = state.session;
    if (!s) return;
    const active = s.findings.filter((f) => !f.suppressed);
    void this.connection.sendNotification(StatusNotification, {
      state: 'ready', folder: state.uri, findings: active.length, deadlockRisks: active.filter((f) => f.class === 'deadlock-risk').length,
    });
  }

  /** The folder (and relative path) that holds an absolute file. */
  locate(uri: string): { state: FolderState; rel: string } | null {
    const file = uriToPath(uri);
    if (!file) return null;
    let best: { state: FolderState; rel: string } | null = null;
    for (const state of this.folders.values()) {
      const rel = path.relative(state.root, file);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      if (!best || state.root.length > best.state.root.length) best = { state, rel: rel.split(path.sep).join('/') };
    }
    return best;
  }

  folderFor(folderUri?: string): FolderState | undefined {
    return folderUri ? this.folders.get(folderUri) : this.folders.values().next().value;
  }

  /** Runs `work` after the folder's previous updates, so edits apply in order. */
  enqueue<T>(state: FolderState, work: () => Promise<T>): Promise<T> {
    const prev = this.queue.get(state.uri) ?? Promise.resolve();
    const next = prev.then(() => state.ready).then(work);
    this.queue.set(state.uri, next.catch(() => undefined));
    return next;
  }

  /** Defined functions of a file, by index in the program. */
  functionsIn(session: ProjectSession, rel: string): { index: number; facts: FunctionFacts }[] {
    const p = session.analysis.program;
    const out: { index: number; facts: FunctionFacts }[] = [];
    p.facts.forEach((f, i) => { if (f && p.functions[i].file === rel) out.push({ index: i, facts: f }); });
    return out;
  }

  /** The call whose callee text contains `word` on a 1-based line. */
  callAt(session: ProjectSession, rel: string, line: number, word: string): CallAt | null {
    for (const { index, facts } of this.functionsIn(session, rel)) {
      if (line < facts.bodyStartLine || line > facts.endLine) continue;
      const ci = facts.calls.findIndex((c) => c.site.line === line && (c.text === word || c.text.split(/[^A-Za-z0-9_]+/).includes(word) || c.macro === word));
      if (ci >= 0) return { fnIndex: index, fn: facts, callIndex: ci, call: facts.calls[ci] };
    }
    return null;
  }

  uriOf(state: FolderState, rel: string): string {
    return pathToUri(path.join(state.root, rel));
  }
}
