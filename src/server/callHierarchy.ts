import path from 'node:path';
import { SymbolKind } from 'vscode-languageserver/node';
import type { CallHierarchyIncomingCall, CallHierarchyItem, CallHierarchyOutgoingCall, Range } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Edge, FunctionNode } from '../analyzer/graph';
import { shortName } from '../analyzer/report/formats';
import type { ProjectSession } from '../analyzer/session';
import { pathToUri, siteRange, wordAt } from './lsp';
import type { FolderState, Workspace } from './workspace';

// Call hierarchy over the whole graph — macro, indirect, hand-off and registration edges too — with
// each edge's kind in the item's detail so the user can tell them apart.

interface ItemData { folder: string; id: string }

function edgeLabel(e: Edge): string {
  switch (e.kind) {
    case 'direct': return 'direct';
    case 'macro': return `macro ${e.macro}`;
    case 'indirect': return `indirect${e.macro ? ` (macro ${e.macro})` : ''}: ${e.via}`;
    case 'handoff': return `hand-off to thread ${shortName(e.threadRoot ?? '')} via ${e.via}`;
    case 'registration': return `registration: ${e.entryKind} via ${e.via}`;
  }
}

function item(state: FolderState, fn: FunctionNode, detail?: string): CallHierarchyItem | null {
  if (!fn.defined || !fn.file) return null;
  const range: Range = siteRange({ file: fn.file, line: fn.line ?? 1, col: fn.col ?? 1 }, fn.name.length);
  const full: Range = { start: { line: (fn.line ?? 1) - 1, character: 0 }, end: { line: (fn.endLine ?? fn.line ?? 1) - 1, character: 0 } };
  const data: ItemData = { folder: state.uri, id: fn.id };
  return {
    name: fn.name,
    kind: SymbolKind.Function,
    detail: detail ?? `${fn.file}${fn.definedByMacro ? ` · defined through ${fn.definedByMacro}` : ''}`,
    uri: pathToUri(path.join(state.root, fn.file)),
    range: full.end.line >= full.start.line ? full : range,
    selectionRange: range,
    data,
  };
}

export function prepare(workspace: Workspace, doc: TextDocument, line: number, character: number): CallHierarchyItem[] | null {
  const loc = workspace.locate(doc.uri);
  const session = loc?.state.session;
  if (!loc || !session) return null;
  const text = doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } });
  const w = wordAt(text.replace(/\r?\n$/, ''), character);
  const p = session.analysis.program;
  // The function named at the cursor (a definition here, or a call's targets), else the function
  // whose header is on this line, wherever the cursor sits on it.
  let fns = w ? p.functions.filter((f) => f.defined && f.name === w.word && f.file === loc.rel && f.line === line + 1) : [];
  if (!fns.length && w) {
    const call = workspace.callAt(session, loc.rel, line + 1, w.word);
    if (call) fns = (p.callEdges[call.fnIndex]?.[call.callIndex] ?? []).map((ei) => p.functions[p.idToIndex.get(p.edges[ei].to)!]);
  }
  if (!fns.length) fns = p.functions.filter((f) => f.defined && f.file === loc.rel && f.line === line + 1);
  if (!fns.length && w) fns = p.functions.filter((f) => f.defined && f.name === w.word);
  const items = fns.map((f) => item(loc.state, f)).filter((x): x is CallHierarchyItem => !!x);
  return items.length ? items : null;
}

function resolve(workspace: Workspace, it: CallHierarchyItem): { state: FolderState; session: ProjectSession; index: number } | null {
  const data = it.data as ItemData | undefined;
  const state = data ? workspace.folders.get(data.folder) : undefined;
  const session = state?.session;
  const index = data && session ? session.analysis.program.idToIndex.get(data.id) : undefined;
  return state && session && index !== undefined ? { state, session, index } : null;
}

function group(edges: Edge[], key: (e: Edge) => string): Map<string, Edge[]> {
  const m = new Map<string, Edge[]>();
  for (const e of edges) m.set(key(e), [...(m.get(key(e)) ?? []), e]);
  return m;
}

export function incoming(workspace: Workspace, it: CallHierarchyItem): CallHierarchyIncomingCall[] {
  const r = resolve(workspace, it);
  if (!r) return [];
  const p = r.session.analysis.program;
  const out: CallHierarchyIncomingCall[] = [];
  for (const [from, edges] of group(p.in[r.index].map((ei) => p.edges[ei]), (e) => e.from)) {
    const caller = p.functions[p.idToIndex.get(from)!];
    const i = item(r.state, caller, `${[...new Set(edges.map(edgeLabel))].join('; ')} — ${caller.file}`);
    if (i) out.push({ from: i, fromRanges: edges.filter((e) => e.site.file === caller.file).map((e) => siteRange(e.site, shortName(e.to).length)) });
  }
  return out;
}

export function outgoing(workspace: Workspace, it: CallHierarchyItem): CallHierarchyOutgoingCall[] {
  const r = resolve(workspace, it);
  if (!r) return [];
  const p = r.session.analysis.program;
  const out: CallHierarchyOutgoingCall[] = [];
  for (const [to, edges] of group(p.out[r.index].map((ei) => p.edges[ei]), (e) => e.to)) {
    const callee = p.functions[p.idToIndex.get(to)!];
    const i = item(r.state, callee, `${[...new Set(edges.map(edgeLabel))].join('; ')} — ${callee.file}`);
    if (i) out.push({ to: i, fromRanges: edges.map((e) => siteRange(e.site, (e.macro ?? shortName(e.to)).length)) });
  }
  return out;
}
