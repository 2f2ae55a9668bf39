// Messages between the graph view (webview) and its host in the extension. The host validates
// every message from the webview before acting on it.
import type { Edge, FunctionNode } from '../analyzer/graph';

export interface ViewGraph {
  title: string;
  functions: FunctionNode[];
  edges: Edge[];
  /** The function the view is about (outlined). */
  center?: string;
  /** Edges to emphasise (a trace or a finding's path), as `from>to@file:line`. */
  highlight?: string[];
  /** Said above the graph (e.g. that it was cut at the node limit). */
  note?: string;
}

export type HostToView = { type: 'show'; graph: ViewGraph };

export type ViewToHost =
  | { type: 'ready' }
  | { type: 'open'; file: string; line: number; col: number }
  | { type: 'export'; format: 'svg' | 'dot' | 'mermaid' | 'png'; content: string };

export function edgeKey(e: Pick<Edge, 'from' | 'to' | 'site'>): string {
  return `${e.from}>${e.to}@${e.site.file}:${e.site.line}`;
}

/** Checks a message from the webview; anything else is ignored. */
export function parseViewMessage(raw: unknown): ViewToHost | null {
  if (!raw || typeof raw !== 'object') return null;
  const m = raw as Record<string, unknown>;
  if (m.type === 'ready') return { type: 'ready' };
  if (m.type === 'open' && typeof m.file === 'string' && Number.isInteger(m.line) && Number.isInteger(m.col) && (m.line as number) > 0 && (m.col as number) > 0
    && !m.file.includes('..') && !m.file.startsWith('/')) {
    return { type: 'open', file: m.file, line: m.line as number, col: m.col as number };
  }
  if (m.type === 'export' && (m.format === 'svg' || m.format === 'dot' || m.format === 'mermaid' || m.format === 'png') && typeof m.content === 'string' && m.content.length < 20_000_000
    && (m.format !== 'png' || m.content.startsWith('data:image/png;base64,'))) {
    return { type: 'export', format: m.format, content: m.content };
  }
  return null;
}
