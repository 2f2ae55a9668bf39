// Messages between the graph view (webview) and its host in the extension. The host validates
// every message from the webview before acting on it; the view checks the host's messages' shape.
import type { Edge, FunctionNode } from '../analyzer/graph';
import type { ContextsJson } from './protocol';
import type { LaneFinding } from './lanes';

export type Direction = 'in' | 'out' | 'both';

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
  /** Thread contexts per function id, from the server (else derived from the drawing). */
  contexts?: ContextsJson;
  /** A finding: drawn as lanes, one per thread (the graph stays available). */
  finding?: LaneFinding;
  /** Call-graph edges around the calls sequenced after a finding's wait (the greyed part of its lanes). */
  laneEdges?: Edge[];
  /** The neighbourhood request this graph answers, so the view can offer narrower ones. */
  query?: { around: string; depth: number; direction: Direction };
  /** The server cut the graph at its node limit. */
  truncated?: boolean;
}

/** One hop of callers or callees of a drawn function, added on request. */
export interface Expansion { id: string; direction: 'in' | 'out'; functions: FunctionNode[]; edges: Edge[]; contexts?: ContextsJson; truncated: boolean }

export type HostToView =
  | { type: 'show'; graph: ViewGraph }
  | ({ type: 'expanded' } & Expansion)
  /** The editor's cursor moved to this workspace-relative file and 1-based line. */
  | { type: 'cursor'; file: string; line: number };

export type ViewToHost =
  | { type: 'ready' }
  | { type: 'open'; file: string; line: number; col: number }
  | { type: 'export'; format: 'svg' | 'dot' | 'mermaid' | 'png'; content: string }
  | { type: 'expand'; id: string; direction: 'in' | 'out' }
  | { type: 'graph'; around: string; depth: number; direction: Direction };

export function edgeKey(e: Pick<Edge, 'from' | 'to' | 'site'>): string {
  return `${e.from}>${e.to}@${e.site.file}:${e.site.line}`;
}

/** Function ids: a C identifier, optionally `@` and a workspace-relative path. */
const FUNCTION_ID = /^[A-Za-z_][A-Za-z0-9_]*(@[^\0-\x1f@]{1,500})?$/;

function relativePath(file: unknown): file is string {
  return typeof file === 'string' && file.length > 0 && file.length < 1000 && !file.split(/[\\/]/).includes('..') && !file.startsWith('/') && !/^[A-Za-z]:/.test(file) && !/[\0-\x1f]/.test(file);
}

/** Checks a message from the webview; anything else is ignored. */
export function parseViewMessage(raw: unknown): ViewToHost | null {
  if (!raw || typeof raw !== 'object') return null;
  const m = raw as Record<string, unknown>;
  if (m.type === 'ready') return { type: 'ready' };
  if (m.type === 'open' && relativePath(m.file) && Number.isInteger(m.line) && Number.isInteger(m.col) && (m.line as number) > 0 && (m.col as number) > 0) {
    return { type: 'open', file: m.file, line: m.line as number, col: m.col as number };
  }
  if (m.type === 'export' && (m.format === 'svg' || m.format === 'dot' || m.format === 'mermaid' || m.format === 'png') && typeof m.content === 'string' && m.content.length < 20_000_000
    && (m.format !== 'png' || m.content.startsWith('data:image/png;base64,'))) {
    return { type: 'export', format: m.format, content: m.content };
  }
  if (m.type === 'expand' && typeof m.id === 'string' && FUNCTION_ID.test(m.id) && (m.direction === 'in' || m.direction === 'out')) {
    return { type: 'expand', id: m.id, direction: m.direction };
  }
  if (m.type === 'graph' && typeof m.around === 'string' && FUNCTION_ID.test(m.around) && Number.isInteger(m.depth) && (m.depth as number) >= 0 && (m.depth as number) <= 10
    && (m.direction === 'in' || m.direction === 'out' || m.direction === 'both')) {
    return { type: 'graph', around: m.around, depth: m.depth as number, direction: m.direction };
  }
  return null;
}

/** Checks a message from the host (the view trusts its host, but not a stray `postMessage`). */
export function parseHostMessage(raw: unknown): HostToView | null {
  if (!raw || typeof raw !== 'object') return null;
  const m = raw as Record<string, unknown>;
  const g = m.graph as Record<string, unknown> | undefined;
  if (m.type === 'show' && g && typeof g === 'object' && typeof g.title === 'string' && Array.isArray(g.functions) && Array.isArray(g.edges)) return m as HostToView;
  if (m.type === 'expanded' && typeof m.id === 'string' && (m.direction === 'in' || m.direction === 'out') && Array.isArray(m.functions) && Array.isArray(m.edges)) return m as HostToView;
  if (m.type === 'cursor' && typeof m.file === 'string' && Number.isInteger(m.line)) return { type: 'cursor', file: m.file, line: m.line as number };
  return null;
}
