import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { parseViewMessage } from '../shared/webviewProtocol';
import { graphViewHtml } from './graphViewHtml';
import type { HostToView, ViewGraph } from '../shared/webviewProtocol';

export const GRAPH_VIEW_TYPE = 'lockpath.graph';

/**
 * Hosts the graph view. One panel is reused; its content survives hiding and VS Code restarts
 * (the webview keeps its state, and a serializer revives the panel).
 */
export class GraphPanel {
  private static current: GraphPanel | undefined;

  static show(context: vscode.ExtensionContext, folder: vscode.Uri | undefined, graph: ViewGraph): void {
    if (GraphPanel.current) {
      GraphPanel.current.folder = folder ?? GraphPanel.current.folder;
      GraphPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      GraphPanel.current.post({ type: 'show', graph });
      return;
    }
    const panel = vscode.window.createWebviewPanel(GRAPH_VIEW_TYPE, 'lockpath graph', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, GraphPanel.options(context));
    GraphPanel.current = new GraphPanel(context, panel, folder);
    GraphPanel.current.pending = graph;
  }

  static registerSerializer(context: vscode.ExtensionContext): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(GRAPH_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
        panel.webview.options = GraphPanel.options(context);
        // The webview restores its own graph from its saved state.
        GraphPanel.current = new GraphPanel(context, panel, vscode.workspace.workspaceFolders?.[0]?.uri);
      },
    });
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
        await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.One });
      } else if (m.type === 'export') {
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(`lockpath-graph.${m.format === 'mermaid' ? 'mmd' : m.format}`) });
        if (!target) return;
        const bytes = m.format === 'png' ? Buffer.from(m.content.slice(m.content.indexOf(',') + 1), 'base64') : new TextEncoder().encode(m.content);
        await vscode.workspace.fs.writeFile(target, bytes);
      }
    });
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
