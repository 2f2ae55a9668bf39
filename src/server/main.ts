// The lockpath language server: LSP glue only. Started by the VS Code client over IPC, or on its
// own with `--stdio`. Every feature calls the analyzer through ProjectSession.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  createConnection, DidChangeConfigurationNotification, FileChangeType, ProposedFeatures, TextDocuments, TextDocumentSyncKind,
  CodeLensRefreshRequest,
} from 'vscode-languageserver/node';
import type { InitializeParams, InitializeResult, WorkspaceFolder } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DEFAULT_SETTINGS, resolveSettings } from '../shared/settings';
import type { InitializationOptions } from '../shared/protocol';
import { MODEL_FILE_NAME } from '../analyzer/project';
import { DEFAULT_SELECTION } from '../analyzer/files';
import { Workspace } from './workspace';
import { DiagnosticsPublisher } from './diagnostics';
import { hover } from './hover';
import { codeLenses } from './codeLens';
import { incoming, outgoing, prepare } from './callHierarchy';
import { registerCustomRequests } from './customRequests';
import { isModelFile, modelCompletion, modelDiagnostics } from './modelFileFeatures';
import { uriToPath } from './lsp';
import { ChangeRecorder } from './changeRecorder';
import type { TextChange } from '../analyzer/incremental/edits';

const connection = createConnection(ProposedFeatures.all);
const recorder = new ChangeRecorder();
const documents = new TextDocuments(recorder.documentsConfiguration());
let workspace: Workspace;
let publisher: DiagnosticsPublisher;
let folders: WorkspaceFolder[] = [];
let supportsConfiguration = false;
let supportsProgress = false;
let supportsCodeLensRefresh = false;
let supportsWorkspaceFolders = false;

function refreshCodeLenses(): void {
  if (supportsCodeLensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
}

connection.onInitialize((params: InitializeParams): InitializeResult => {
  const init = (params.initializationOptions ?? {}) as InitializationOptions;
  const cacheDir = init.cacheDir ?? process.env.LOCKPATH_CACHE_DIR;
  workspace = new Workspace(connection, DEFAULT_SETTINGS, cacheDir);
  publisher = new DiagnosticsPublisher(connection, workspace);
  folders = params.workspaceFolders ?? (params.rootUri ? [{ uri: params.rootUri, name: 'root' }] : []);
  supportsConfiguration = !!params.capabilities.workspace?.configuration;
  supportsProgress = !!params.capabilities.window?.workDoneProgress;
  supportsCodeLensRefresh = !!params.capabilities.workspace?.codeLens?.refreshSupport;
  supportsWorkspaceFolders = !!params.capabilities.workspace?.workspaceFolders;
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
      hoverProvider: true,
      codeLensProvider: { resolveProvider: false },
      callHierarchyProvider: true,
      completionProvider: { triggerCharacters: [' ', '='] },
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    },
    serverInfo: { name: 'lockpath', version: '0.1.0' },
  };
});

async function loadSettings(): Promise<void> {
  if (!supportsConfiguration) return;
  const raw = await connection.workspace.getConfiguration('lockpath').catch(() => undefined);
  workspace.setSettings(resolveSettings(raw));
}

async function indexFolder(folder: WorkspaceFolder): Promise<void> {
  const progress = supportsProgress ? await connection.window.createWorkDoneProgress().catch(() => undefined) : undefined;
  progress?.begin('lockpath: indexing', 0, folder.name, true);
  await workspace.addFolder(folder.uri, progress ? {
    report: (message, percentage) => progress.report(percentage ?? 0, message),
    token: progress.token,
    done: () => progress.done(),
  } : undefined);
  publisher.publishAll();
  publishOpenModelFiles();
  refreshCodeLenses();
  const state = workspace.folders.get(folder.uri);
  if (state) workspace.afterIndex(state);
}

connection.onInitialized(async () => {
  if (supportsConfiguration) void connection.client.register(DidChangeConfigurationNotification.type, { section: 'lockpath' }).catch(() => undefined);
  await loadSettings();
  // Clients without workspace folders (a plain rootUri) get a fixed root.
  if (supportsWorkspaceFolders) {
    connection.workspace.onDidChangeWorkspaceFolders(async (e) => {
      for (const f of e.removed) workspace.removeFolder(f.uri);
      for (const f of e.added) await indexFolder(f);
      publisher.publishAll();
    });
  }
  for (const f of folders) await indexFolder(f);
});

connection.onDidChangeConfiguration(async () => {
  const before = JSON.stringify(workspace.currentSettings);
  await loadSettings();
  const after = workspace.currentSettings;
  const b = JSON.parse(before) as typeof after;
  // Severities only change how findings are shown; file selection and parser need a re-index.
  if (JSON.stringify([b.include, b.exclude, b.parser]) !== JSON.stringify([after.include, after.exclude, after.parser])) {
    for (const state of [...workspace.folders.values()]) await indexFolder({ uri: state.uri, name: path.basename(state.root) });
  }
  publisher.publishAll();
  refreshCodeLenses();
});

// ------------------------------------------------------------------ edits and files on disk

/** A file's new content: its text (null: gone) and, for open documents, the editor's changes that led there. */
type Content = { text: string | null; changes?: TextChange[] };
type ContentSource = () => Promise<Content>;

/**
 * Updates run at once; while one runs for a document, later edits only replace the source to read
 * next (an open document's changes accumulate in the recorder until read), so a burst of
 * keystrokes costs at most one extra analysis, of the latest text.
 */
const updates = new Map<string, { next: ContentSource | null }>();

function scheduleUpdate(uri: string, text: ContentSource): void {
  const running = updates.get(uri);
  if (running) {
    running.next = text;
    return;
  }
  const state: { next: ContentSource | null } = { next: null };
  updates.set(uri, state);
  const run = async (source: ContentSource): Promise<void> => {
    try {
      await applyUpdate(uri, source);
    } catch (err) {
      connection.console.error(`lockpath: update of ${uri} failed: ${(err as Error).message}`);
    }
    const next = state.next;
    state.next = null;
    if (next) setImmediate(() => void run(next));
    else updates.delete(uri);
  };
  setImmediate(() => void run(text));
}

async function applyUpdate(uri: string, source: ContentSource): Promise<void> {
  const loc = workspace.locate(uri);
  if (!loc) return;
  if (isModelFile(uri) && path.basename(uri) === MODEL_FILE_NAME) {
    await workspace.enqueue(loc.state, async () => loc.state.session?.updateModel((await source()).text));
  } else {
    if (!loc.state.session?.wantsFile(loc.rel)) return;
    const changed = await workspace.enqueue(loc.state, async () => {
      // Read the content only now, after earlier updates: the changes taken are exactly those
      // since the text the session saw last.
      const { text, changes } = await source();
      const session = loc.state.session;
      if (!session) return false;
      const changed = await session.updateFile(loc.rel, text, changes);
      const u = session.lastUpdate;
      if (changed && u) connection.console.log(`lockpath: ${loc.rel} updated (${u.kind}${u.link ? `, ${u.link} link` : ''}, ${u.parse} parse) in ${u.ms.toFixed(0)} ms${u.phases ? `: ${Object.entries(u.phases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}` : ''}`);
      return changed;
    });
    if (!changed) return;
  }
  workspace.sendStatus(loc.state);
  // The edited document always gets a fresh publish (its diagnostics may have moved with the
  // text); other files only when their diagnostics changed.
  publisher.publishAll(documents.get(uri) ? [uri] : []);
  publishOpenModelFiles();
  refreshCodeLenses();
}

async function readDisk(uri: string): Promise<Content> {
  return { text: await readDiskText(uri) };
}

async function readDiskText(uri: string): Promise<string | null> {
  const file = uriToPath(uri);
  if (!file) return null;
  try {
    const buf = await fs.readFile(file);
    if (buf.length > DEFAULT_SELECTION.maxFileBytes || buf.subarray(0, 8192).includes(0)) return null;
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

documents.onDidChangeContent((e) => {
  if (isModelFile(e.document.uri)) {
    publishModelDiagnostics(e.document);
    return;
  }
  const doc = e.document;
  scheduleUpdate(doc.uri, async () => (documents.get(doc.uri) === doc ? recorder.take(doc) : { text: doc.getText() }));
});

documents.onDidSave((e) => {
  if (isModelFile(e.document.uri)) scheduleUpdate(e.document.uri, async () => ({ text: e.document.getText() }));
});

documents.onDidClose((e) => {
  recorder.forget(e.document.uri);
  // The editor's unsaved text no longer counts: go back to the file on disk.
  if (!isModelFile(e.document.uri)) scheduleUpdate(e.document.uri, () => readDisk(e.document.uri));
});

connection.onDidChangeWatchedFiles((e) => {
  for (const change of e.changes) {
    if (documents.get(change.uri)) continue; // open documents are tracked through didChange
    scheduleUpdate(change.uri, () => (change.type === FileChangeType.Deleted ? Promise.resolve({ text: null }) : readDisk(change.uri)));
  }
});

function publishModelDiagnostics(doc: TextDocument): void {
  void connection.sendDiagnostics({ uri: doc.uri, diagnostics: modelDiagnostics(workspace, doc) });
}

function publishOpenModelFiles(): void {
  for (const doc of documents.all()) if (isModelFile(doc.uri)) publishModelDiagnostics(doc);
}

// ------------------------------------------------------------------ features

connection.onHover(async (params) => {
  const doc = documents.get(params.textDocument.uri);
  const loc = workspace.locate(params.textDocument.uri);
  if (!doc || !loc) return null;
  await loc.state.ready;
  return hover(workspace, doc, params.position.line, params.position.character);
});

connection.onCodeLens(async (params) => {
  const loc = workspace.locate(params.textDocument.uri);
  if (!loc) return [];
  await loc.state.ready;
  return codeLenses(workspace, params.textDocument.uri);
});

connection.languages.callHierarchy.onPrepare(async (params) => {
  const doc = documents.get(params.textDocument.uri);
  const loc = workspace.locate(params.textDocument.uri);
  if (!doc || !loc) return null;
  await loc.state.ready;
  return prepare(workspace, doc, params.position.line, params.position.character);
});
connection.languages.callHierarchy.onIncomingCalls((params) => incoming(workspace, params.item));
connection.languages.callHierarchy.onOutgoingCalls((params) => outgoing(workspace, params.item));

connection.onCompletion(async (params) => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc || !isModelFile(doc.uri)) return [];
  await workspace.locate(doc.uri)?.state.ready;
  return modelCompletion(workspace, doc, params.position.line, params.position.character);
});

registerCustomRequests(connection, () => workspace);

documents.listen(connection);
connection.listen();
