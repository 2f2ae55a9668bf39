// The lockpath VS Code extension: a thin client. It starts the language server (IPC), registers
// the commands the server's CodeLens and hovers invoke, and shows indexing state in the status bar.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind } from 'vscode-languageclient/node';
import type { LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import {
  COMMANDS, FindingRequest, FunctionNamesRequest, GraphRequest, SarifRequest, StatusNotification, TraceRequest,
} from '../shared/protocol';
import type { InitializationOptions, StatusParams } from '../shared/protocol';
import { findingText, traceText } from './render';
import { GraphPanel, neighbourhoodView } from './graphPanel';
import { edgeKey } from '../shared/webviewProtocol';
import type { Edge, FunctionNode } from '../analyzer/graph';

let client: LanguageClient | undefined;
const VIEW_SCHEME = 'lockpath-view';
const views = new Map<string, string>();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const serverModule = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const storage = context.storageUri ?? context.globalStorageUri;
  const initializationOptions: InitializationOptions = { cacheDir: storage.fsPath };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'c' }, { scheme: 'file', language: 'cpp', pattern: '**/*.h' }, { scheme: 'file', language: 'lockpath' }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{c,h,lockpath}'), configurationSection: 'lockpath' },
    initializationOptions,
  };
  client = new LanguageClient('lockpath', 'lockpath', serverOptions, clientOptions);

  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  status.text = '$(sync~spin) lockpath';
  status.command = COMMANDS.showFindingTrace;
  status.show();
  context.subscriptions.push(status);

  context.subscriptions.push(...GraphPanel.register(context, (params) => client!.sendRequest(GraphRequest, params)));
  const folderUri = (folder?: string) => (folder ? vscode.Uri.parse(folder) : vscode.workspace.workspaceFolders?.[0]?.uri);

  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(VIEW_SCHEME, {
    provideTextDocumentContent: (uri) => views.get(uri.toString()) ?? '',
  }));

  // preserveFocus: the graph panel opens after the text, as the tab on top in the same column.
  const show = async (title: string, text: string, language = 'plaintext', preserveFocus = false) => {
    const uri = vscode.Uri.parse(`${VIEW_SCHEME}:${encodeURIComponent(title)}`);
    views.set(uri.toString(), text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, language);
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside, preserveFocus });
  };
  const wordAtCursor = () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return undefined;
    const range = editor.document.getWordRangeAtPosition(editor.selection.active, /[A-Za-z_][A-Za-z0-9_]*/);
    return range ? editor.document.getText(range) : undefined;
  };
  const pickFunction = async (placeHolder: string, initial?: string) => {
    const names = await client!.sendRequest(FunctionNamesRequest, {});
    const item = await vscode.window.showQuickPick(names, { placeHolder, matchOnDescription: true, ...(initial ? { value: initial } : {}) } as vscode.QuickPickOptions);
    return item;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.traceBetween, async (args?: { from?: string; to?: string; via?: string[] }) => {
      const from = args?.from ?? await pickFunction('Trace from function…', wordAtCursor());
      if (!from) return;
      const to = args?.to ?? await pickFunction('…to function');
      if (!to) return;
      try {
        const r = await client!.sendRequest(TraceRequest, { from, to, via: args?.via ?? [] });
        if (!r.paths.length) {
          void vscode.window.showInformationMessage(`lockpath: no path from ${from} to ${to}`);
          return;
        }
        const edges = r.paths.flatMap((p) => p.hops);
        await show(`trace ${from} → ${to}`, traceText(r), 'plaintext', true);
        GraphPanel.show(context, folderUri(), { title: `trace ${from} → ${to}`, functions: r.functions, edges, center: r.from.id, highlight: r.paths[0].hops.map(edgeKey), ...(r.contexts ? { contexts: r.contexts } : {}) });
      } catch (err) {
        void vscode.window.showErrorMessage(`lockpath: ${(err as Error).message}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.showGraph, async (args?: { folder?: string; around?: string }) => {
      const around = args?.around ?? wordAtCursor() ?? await pickFunction('Show the call graph around…');
      if (!around) return;
      try {
        const g = await client!.sendRequest(GraphRequest, { around, depth: 2, direction: 'both', ...(args?.folder ? { folder: args.folder } : {}) });
        GraphPanel.show(context, folderUri(args?.folder), neighbourhoodView(g));
      } catch (err) {
        void vscode.window.showErrorMessage(`lockpath: ${(err as Error).message}`);
      }
    }),
    vscode.commands.registerCommand(COMMANDS.showFindingTrace, async (args?: { folder?: string; id?: string }) => {
      if (!args?.id) {
        await vscode.commands.executeCommand('workbench.actions.view.problems');
        return;
      }
      const f = await client!.sendRequest(FindingRequest, { id: args.id, ...(args.folder ? { folder: args.folder } : {}) });
      if (!f) return;
      await show(`finding ${f.id}`, findingText(f), 'plaintext', true);
      // The lanes need every function's definition, and the call edges among what the calls
      // sequenced after the wait reach (to draw them as the tree they form): one-hop requests,
      // each cheap on the server.
      const folder = args.folder ? { folder: args.folder } : {};
      // Lock-order findings carry one trace per thread instead of awaited threads.
      const threads = f.threads ?? [];
      const hops = [...f.path, ...f.awaited.flatMap((a) => [...a.pathToReleaser, ...(a.takesLock?.path ?? [])]), ...threads.flatMap((t) => t.path)];
      const ids = new Set(hops.flatMap((h) => [h.from, h.to]).concat(f.entry.function, threads.map((t) => t.entry.function)));
      const reached = new Set(f.sequencedAfter.flatMap((s) => [s.function, ...s.reaches]));
      const known = new Map<string, FunctionNode>();
      const laneEdges = new Map<string, Edge>();
      const ask = [...new Set([...ids, ...reached])].slice(0, 400);
      await Promise.all(ask.map(async (id) => {
        const g = await client!.sendRequest(GraphRequest, { around: id, depth: reached.has(id) ? 1 : 0, direction: 'out', maxNodes: 200, ...folder }).catch(() => null);
        if (!g) return;
        for (const fn of g.functions) if (fn.id === id) known.set(id, fn);
        for (const e of g.edges) if (e.from === id && reached.has(e.to)) laneEdges.set(`${edgeKey(e)}#${e.kind}`, e);
      }));
      const sequenced = [...laneEdges.values()].filter((e) => f.sequencedAfter.some((s) => s.function === e.from ? s.site.line === e.site.line && s.site.file === e.site.file : s.reaches.includes(e.from)));
      for (const e of sequenced) ids.add(e.from).add(e.to);
      const functions = [...ids].map((id) => known.get(id) ?? { id, name: id.split('@')[0], static: false, defined: false });
      const target = f.wait?.function ?? f.call?.function ?? f.entry.function;
      GraphPanel.show(context, folderUri(args.folder), {
        title: `${f.class}: ${f.entry.function.split('@')[0]} → ${target.split('@')[0]}`, functions, edges: [...hops, ...sequenced], center: f.entry.function, highlight: f.path.map(edgeKey),
        finding: f, laneEdges: [...laneEdges.values()],
      });
    }),
    vscode.commands.registerCommand(COMMANDS.exportSarif, async () => {
      const sarif = await client!.sendRequest(SarifRequest, {});
      const target = await vscode.window.showSaveDialog({ filters: { SARIF: ['sarif', 'json'] }, defaultUri: vscode.Uri.file('lockpath.sarif') });
      if (!target) return;
      await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(JSON.stringify(sarif, null, 2)));
      void vscode.window.showInformationMessage(`lockpath: findings written to ${target.fsPath}`);
    }),
    vscode.commands.registerCommand(COMMANDS.restartServer, async () => {
      status.text = '$(sync~spin) lockpath';
      await client!.restart();
    }),
  );

  client.onNotification(StatusNotification, (s: StatusParams) => {
    if (s.state === 'indexing') status.text = `$(sync~spin) lockpath ${s.parsed ?? 0}/${s.total ?? '?'}`;
    else if (s.state === 'error') status.text = '$(error) lockpath';
    else status.text = s.deadlockRisks ? `$(warning) lockpath: ${s.deadlockRisks} deadlock risk${s.deadlockRisks === 1 ? '' : 's'}` : `$(check) lockpath: ${s.findings ?? 0} findings`;
    status.tooltip = s.message ?? 'lockpath: blocking waits under global locks';
  });
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
