import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as vscode from 'vscode';
import { parseViewMessage } from '../shared/webviewProtocol';
import { graphViewHtml } from './graphViewHtml';
import type { Direction, HostToView, ViewGraph } from '../shared/webviewProtocol';
import type { GraphResultJson } from '../shared/protocol';

export const GRAPH_VIEW_TYPE = 'lockpath.graph';

/** Where the panel gets more graph from (the language server's `lockpath/graph`). */
export type GraphSource = (params: { around: string; depth: number; direction: Direction; maxNodes: number; folder?: string }) => Promise<GraphResultJson>;

/** Most callers or callees one expansion asks for; the view says when there are more. */
const EXPAND_MAX_NODES = 51;

/**
 * Hosts the graph view. One panel is reused; its content survives hiding and VS Code restarts
 * (the webview keeps its state, and a serializer revives the panel).
 */
export class GraphPanel {
  private static current: GraphPanel | undefined;
  private static source: GraphSource | undefined;

  static show(context: vscode.ExtensionContext, folder: vscode.Uri | undefined, graph: ViewGraph): void {
    const current = GraphPanel.current;
    if (current) {
      current.folder = folder ?? current.folder;
      // A hidden panel's page is gone (no retained context) and reloads on reveal: a message
      // posted now would be lost, so hand the graph over when the reloaded page says it is ready.
      const live = current.panel.visible;
      current.panel.reveal(vscode.ViewColumn.Beside, true);
      if (live) current.post({ type: 'show', graph });
      else current.pending = graph;
      return;
    }
    const panel = vscode.window.createWebviewPanel(GRAPH_VIEW_TYPE, 'lockpath graph', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, GraphPanel.options(context));
    GraphPanel.current = new GraphPanel(context, panel, folder);
    GraphPanel.current.pending = graph;
  }

  /** Registers the serializer and the editor-cursor follower; `source` answers expansions. */
  static register(context: vscode.ExtensionContext, source: GraphSource): vscode.Disposable[] {
    GraphPanel.source = source;
    let timer: NodeJS.Timeout | undefined;
    return [
      vscode.window.registerWebviewPanelSerializer(GRAPH_VIEW_TYPE, {
        async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
          panel.webview.options = GraphPanel.options(context);
          // The webview restores its own graph from its saved state.
          GraphPanel.current = new GraphPanel(context, panel, vscode.workspace.workspaceFolders?.[0]?.uri);
        },
      }),
      // The function under the editor's cursor is marked in an open view (debounced: cursor moves come in bursts).
      vscode.window.onDidChangeTextEditorSelection((ev) => {
        clearTimeout(timer);
        timer = setTimeout(() => GraphPanel.current?.followCursor(ev.textEditor), 150);
      }),
      { dispose: () => clearTimeout(timer) },
    ];
  }

  private static options(context: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'media'), vscode.Uri.joinPath(context.extensionUri, 'dist')],
    };
  }

  private pending: ViewGraph | undefined;

  private constructor(context: vscode.ExtensionContext, private readonly panel: vscode.WebviewPanel, private folder: vscode.Uri | undefined) {
    panel.webview.html = this.html(context);
    panel.onDidDispose(() => { if (GraphPanel.current === this) GraphPanel.current = undefined; });
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const m = parseViewMessage(raw);
      if (!m) return; // anything malformed from the webview is ignored
      if (m.type === 'ready' && this.pending) {
        this.post({ type: 'show', graph: this.pending });
        this.pending = undefined;
      } else if (m.type === 'open' && this.folder) {
        const uri = vscode.Uri.joinPath(this.folder, m.file);
        const pos = new vscode.Position(m.line - 1, m.col - 1);
        await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.One, preserveFocus: false });
      } else if (m.type === 'export') {
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`lockpath-graph.${m.format === 'mermaid' ? 'mmd' : m.format}`) });
        if (!target) return;
        const bytes = m.format === 'png' ? Buffer.from(m.content.slice(m.content.indexOf(',') + 1), 'base64') : new TextEncoder().encode(m.content);
        await vscode.workspace.fs.writeFile(target, bytes);
      } else if (m.type === 'expand' && GraphPanel.source) {
        try {
          const g = await GraphPanel.source({ around: m.id, depth: 1, direction: m.direction, maxNodes: EXPAND_MAX_NODES, ...(this.folder ? { folder: this.folder.toString() } : {}) });
          this.post({ type: 'expanded', id: m.id, direction: m.direction, functions: g.functions, edges: g.edges, truncated: g.truncated, ...(g.contexts ? { contexts: g.contexts } : {}) });
        } catch (err) {
          void vscode.window.showErrorMessage(`lockpath: ${(err as Error).message}`);
        }
      } else if (m.type === 'graph' && GraphPanel.source) {
        try {
          const g = await GraphPanel.source({ around: m.around, depth: m.depth, direction: m.direction, maxNodes: 2000, ...(this.folder ? { folder: this.folder.toString() } : {}) });
          this.post({ type: 'show', graph: neighbourhoodView(g) });
        } catch (err) {
          void vscode.window.showErrorMessage(`lockpath: ${(err as Error).message}`);
        }
      }
    });
  }

  private followCursor(editor: vscode.TextEditor): void {
    if (!this.folder || !this.panel.visible || editor.document.uri.scheme !== 'file') return;
    const rel = path.relative(this.folder.fsPath, editor.document.uri.fsPath).split(path.sep).join('/');
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return;
    this.post({ type: 'cursor', file: rel, line: editor.selection.active.line + 1 });
  }

  private post(message: HostToView): void {
    void this.panel.webview.postMessage(message);
  }

  private html(context: vscode.ExtensionContext): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview', 'graphView.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, 'media', 'graphView.css'));
    return graphViewHtml({ csp: `default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';`, nonce, script: script.toString(), style: style.toString() });
  }
}

/** A neighbourhood answer as the view draws it. */
export function neighbourhoodView(g: GraphResultJson): ViewGraph {
  const around = g.functions.find((f) => f.id === g.center)?.name ?? g.center;
  const dir = g.direction === 'in' ? 'callers' : g.direction === 'out' ? 'callees' : 'callers and callees';
  return {
    title: `${dir} of ${around} (${g.depth} hop${g.depth === 1 ? '' : 's'})`, functions: g.functions, edges: g.edges, center: g.center,
    query: { around: g.center, depth: g.depth, direction: g.direction }, truncated: g.truncated,
    ...(g.contexts ? { contexts: g.contexts } : {}),
  };
}
