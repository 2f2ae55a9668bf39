// The graph view: draws a lockpath graph (functions and typed edges) as SVG with a layered layout,
// or a finding as threads in lanes, inside a VS Code webview or, for tests, a plain page. No
// remote content.
import type { Edge, FunctionNode } from '../analyzer/graph';
import { toDot, toMermaid } from '../analyzer/report/formats';
import { buildLanes, hopLabel, shortName } from '../shared/lanes';
import type { LaneModel, LaneNode } from '../shared/lanes';
import { MAIN_CONTEXT, contextSlots, functionContexts } from '../shared/threadContexts';
import { edgeKey, parseHostMessage } from '../shared/webviewProtocol';
import type { Direction, Expansion, ViewGraph, ViewToHost } from '../shared/webviewProtocol';
import { layoutGraph } from './layout';

interface VsCodeApi { postMessage(m: ViewToHost): void; getState(): unknown; setState(s: unknown): void }
declare function acquireVsCodeApi(): VsCodeApi;

const vscode: VsCodeApi = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };
const SVG = 'http://www.w3.org/2000/svg';
const KINDS: Edge['kind'][] = ['direct', 'macro', 'indirect', 'handoff', 'registration'];
/** Most functions drawn at once; the rest are cut (nearest to the centre kept) with a note. */
export const MAX_DRAWN = 2000;
/** Most callers or callees one expansion adds. */
const EXPAND_LIMIT = 50;
/** Expansions may chain this many hops away from the functions first shown. */
const EXPAND_DEPTH = 6;

/** An expansion as applied: what it added, so collapsing removes exactly that. */
interface Applied { id: string; direction: 'in' | 'out'; added: string[]; edges: string[]; level: number; truncated: boolean }

interface State {
  graph: ViewGraph;
  hiddenKinds: Edge['kind'][];
  hideTests?: boolean;
  hideDeps?: boolean;
  view: { x: number; y: number; scale: number };
  mode?: 'lanes' | 'graph';
  expansions?: Applied[];
  selected?: string;
}

const TEST_PATH = /(^|\/)(tests?|testing|unittests?)(\/|$)|(^|\/)test_[^/]*$/;

let state: State | null = (vscode.getState() as State | null) ?? null;
/** Expansions asked of the host and not answered yet, with when they were asked (a failed request may be asked again after a while). */
const pending = new Map<string, number>();
const PENDING_MS = 5000;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

const edgeId = (e: Edge) => `${edgeKey(e)}#${e.kind}`;

/** Functions kept by the path filters (external functions have no path and are always kept). */
function visibleFunctions(graph: ViewGraph, s: State): FunctionNode[] {
  return graph.functions.filter((f) => !f.file || !((s.hideTests && TEST_PATH.test(f.file)) || (s.hideDeps && f.file.startsWith('deps/'))));
}

/** The first `limit` functions in breadth-first order from the centre (ignoring direction), then the rest. */
function nearest(functions: FunctionNode[], edges: Edge[], center: string | undefined, limit: number): FunctionNode[] {
  if (functions.length <= limit) return functions;
  const byId = new Map(functions.map((f) => [f.id, f]));
  const adj = new Map<string, string[]>();
  for (const e of edges) {
    (adj.get(e.from) ?? adj.set(e.from, []).get(e.from)!).push(e.to);
    (adj.get(e.to) ?? adj.set(e.to, []).get(e.to)!).push(e.from);
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (start: string) => {
    if (seen.has(start) || !byId.has(start)) return;
    seen.add(start);
    order.push(start);
    for (let i = order.length - 1; i < order.length && order.length < limit; i++) {
      for (const w of adj.get(order[i]) ?? []) if (!seen.has(w) && byId.has(w)) { seen.add(w); order.push(w); }
    }
  };
  if (center) visit(center);
  for (const f of functions) { if (order.length >= limit) break; visit(f.id); }
  return order.slice(0, limit).map((id) => byId.get(id)!);
}

function contextLabel(ctx: string): string {
  return ctx === MAIN_CONTEXT ? 'main thread (entry points, GIL)' : `thread ${shortName(ctx)}`;
}

function render(): void {
  const root = document.getElementById('graph')!;
  root.textContent = '';
  document.getElementById('legend')!.textContent = '';
  document.getElementById('narrow')!.textContent = '';
  if (!state) return;
  const { graph } = state;
  document.getElementById('title')!.textContent = graph.title;
  const lanes = !!graph.finding && state.mode !== 'graph';
  document.getElementById('modes')!.hidden = !graph.finding;
  document.getElementById('mode-lanes')!.setAttribute('aria-pressed', String(lanes));
  document.getElementById('mode-graph')!.setAttribute('aria-pressed', String(!lanes));
  const started = performance.now();
  if (lanes) renderLanes(root, graph);
  else renderGraph(root, graph);
  if (fitPending) { fitPending = false; fitToView(); }
  root.dataset.renderMs = String(Math.round(performance.now() - started));
  applyView();
}

function renderGraph(root: HTMLElement, graph: ViewGraph): void {
  const s = state!;
  const hidden = new Set(s.hiddenKinds);
  const kept = visibleFunctions(graph, s);
  const functions = nearest(kept, graph.edges, graph.center, MAX_DRAWN);
  const shown = new Set(functions.map((f) => f.id));
  // Paths of a trace share hops: draw each edge once.
  const seen = new Set<string>();
  const edges = graph.edges.filter((e) => !hidden.has(e.kind) && shown.has(e.from) && shown.has(e.to) && !seen.has(edgeId(e)) && !!seen.add(edgeId(e)));
  const highlight = new Set(graph.highlight ?? []);
  const notes = [graph.note ?? ''];
  if (kept.length > functions.length) notes.push(`showing ${functions.length} of ${kept.length} functions (those nearest ${graph.center ? shortName(graph.center) : 'the start'})`);
  else if (graph.truncated) notes.push('the server cut this graph at its node limit');
  document.getElementById('note')!.textContent = notes.filter(Boolean).join('; ');
  if ((kept.length > functions.length || graph.truncated) && graph.query) offerNarrower(graph.query);

  const contexts = functionContexts(functions, edges, graph.contexts);
  const slots = contextSlots(contexts.values());
  legend(slots);
  const width = (f: FunctionNode) => Math.max(80, f.name.length * 7.5 + 24);
  // A panel taller than wide (beside an editor) reads better top to bottom.
  const box = root.getBoundingClientRect();
  const rankdir = box.width && box.width < box.height * 0.9 ? 'TB' : 'LR';
  const layout = layoutGraph(functions.map((f) => ({ id: f.id, width: width(f), height: 34 })), edges.map((e) => ({ from: e.from, to: e.to, label: edgeText(e) })), undefined, rankdir);
  root.dataset.rankdir = layout.engine === 'dagre' ? rankdir : 'LR';
  layoutSize = { width: layout.width, height: layout.height };
  root.dataset.engine = layout.engine;

  const { world } = canvas(root, 'call graph');
  const expansions = s.expansions ?? [];
  edges.forEach((e, i) => {
    const pts = layout.edges[i];
    if (!pts.length) return;
    const group = el('g', { class: `edge ${e.kind}${highlight.has(edgeKey(e)) ? ' highlight' : ''}`, tabindex: 0, 'data-kind': e.kind, 'data-from': e.from, 'data-to': e.to, role: 'link' }, world);
    const d = layout.engine === 'fast' ? `M ${pts[0].x} ${pts[0].y} Q ${pts[1].x} ${pts[1].y} ${pts[2].x} ${pts[2].y}` : pts.map((p, j) => `${j ? 'L' : 'M'} ${p.x} ${p.y}`).join(' ');
    el('path', { d, 'marker-end': `url(#arrow-${e.kind})` }, group);
    const label = edgeText(e);
    if (label) {
      const mid = pts[Math.floor(pts.length / 2)];
      // Top to bottom, a label centred on its edge would be crossed by it: beside the edge instead.
      const beside = root.dataset.rankdir === 'TB';
      el('text', { x: beside ? mid.x + 8 : mid.x, y: beside ? mid.y + 4 : mid.y - 4, class: beside ? 'edge-label beside' : 'edge-label' }, group).textContent = label;
    }
    const title = `${shortName(e.from)} → ${shortName(e.to)} (${e.kind}) at ${e.site.file}:${e.site.line}${e.evidence ? `\n${e.evidence}` : ''}`;
    el('title', {}, group).textContent = title;
    group.setAttribute('aria-label', title);
    activate(group, () => vscode.postMessage({ type: 'open', file: e.site.file, line: e.site.line, col: e.site.col }));
  });
  for (const f of functions) {
    const p = layout.nodes.get(f.id)!;
    const w = width(f);
    const ctxs = contexts.get(f.id) ?? [];
    const classes = ['node'];
    if (f.entry?.length) classes.push('entry');
    if (f.threadRoot?.length) classes.push('thread-root');
    if (!f.defined) classes.push('external');
    if (f.id === graph.center) classes.push('center');
    if (f.id === s.selected) classes.push('selected');
    const group = el('g', { class: classes.join(' '), transform: `translate(${p.x - w / 2},${p.y - 17})`, tabindex: 0, 'data-id': f.id, role: 'button' }, world);
    el('rect', { width: w, height: 34, rx: 6 }, group);
    // One stripe per thread context the function runs in.
    ctxs.slice(0, 3).forEach((c, i) => el('rect', { class: `ctx-stripe ctx-${slots.get(c)}`, x: 3 + i * 5, y: 5, width: 4, height: 24, rx: 1 }, group));
    el('text', { x: w / 2 + Math.min(ctxs.length, 3) * 2, y: 22, 'text-anchor': 'middle' }, group).textContent = f.name;
    const given = graph.contexts?.[f.id];
    const ctxText = given ? given.map((c) => `${contextLabel(c.context)}: ${c.lock} ${c.state}`).join('\n') : ctxs.map(contextLabel).join('\n');
    const title = `${f.id}\n${f.defined ? `${f.file}:${f.line}` : 'external'}${f.entry?.length ? `\nentry: ${f.entry.map((x) => x.kind).join(', ')}` : ''}${f.threadRoot?.length ? '\nthread root' : ''}${ctxText ? `\n${ctxText}` : ''}`;
    el('title', {}, group).textContent = title;
    group.setAttribute('aria-label', title.replace(/\n/g, '; '));
    activate(group, () => {
      select(f.id);
      if (f.file && f.line) vscode.postMessage({ type: 'open', file: f.file, line: f.line, col: f.col ?? 1 });
    });
    group.addEventListener('keydown', (ev) => {
      const k = (ev as KeyboardEvent).key;
      if (k === '[' || k === '<') toggleExpansion(f.id, 'in');
      else if (k === ']' || k === '>') toggleExpansion(f.id, 'out');
    });
    if (f.defined) {
      for (const direction of ['in', 'out'] as const) {
        const open = expansions.some((x) => x.id === f.id && x.direction === direction);
        const level = 1 + Math.max(0, ...expansions.filter((x) => x.added.includes(f.id)).map((x) => x.level));
        const limited = !open && level > EXPAND_DEPTH;
        const cx = direction === 'in' ? 0 : w;
        const h = el('g', { class: `handle ${direction}${open ? ' open' : ''}${limited ? ' limited' : ''}`, transform: `translate(${cx},17)` }, group);
        el('circle', { r: 7 }, h);
        el('text', { y: 4, 'text-anchor': 'middle' }, h).textContent = open ? '−' : '+';
        el('title', {}, h).textContent = limited ? `expansion depth limit (${EXPAND_DEPTH} hops) reached` : `${open ? 'hide' : 'show'} the ${direction === 'in' ? 'callers' : 'callees'} of ${f.name} (one hop; key ${direction === 'in' ? '[' : ']'})`;
        h.addEventListener('click', (ev) => { ev.stopPropagation(); if (!limited) toggleExpansion(f.id, direction); });
      }
    }
  }
}

/** Edge labels short enough not to push ranks apart; the tooltip has them whole. */
function edgeText(e: Edge): string {
  const label = hopLabel(e);
  return label.length > 30 ? `${label.slice(0, 29)}…` : label;
}

/** Buttons asking the host for a smaller neighbourhood than the one that was cut. */
function offerNarrower(q: NonNullable<ViewGraph['query']>): void {
  const box = document.getElementById('narrow')!;
  const options: [string, number, Direction][] = [];
  if (q.depth > 1) options.push([`depth ${q.depth - 1}`, q.depth - 1, q.direction]);
  if (q.direction === 'both') options.push(['callees only', q.depth, 'out'], ['callers only', q.depth, 'in']);
  for (const [label, depth, direction] of options) {
    const b = document.createElement('button');
    b.textContent = label;
    b.addEventListener('click', () => vscode.postMessage({ type: 'graph', around: q.around, depth, direction }));
    box.appendChild(b);
  }
}

function legend(slots: Map<string, number>): void {
  const box = document.getElementById('legend')!;
  box.textContent = '';
  for (const [ctx, slot] of slots) {
    if (ctx === MAIN_CONTEXT && slots.size === 1) continue;
    const item = document.createElement('span');
    item.className = 'legend-item';
    const swatch = document.createElement('span');
    swatch.className = `swatch ctx-${slot}`;
    item.append(swatch, contextLabel(ctx));
    box.appendChild(item);
  }
}

function canvas(root: HTMLElement, label: string): { svg: SVGSVGElement; world: SVGGElement } {
  root.setAttribute('aria-label', label);
  const svg = el('svg', { id: 'canvas', xmlns: SVG, width: '100%', height: '100%' }, root);
  const defs = el('defs', {}, svg);
  for (const kind of [...KINDS, 'sequenced', 'cross']) {
    // Sized in user units: arrowheads stay the same on thick (emphasised) edges.
    const m = el('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: `arrowhead ${kind}` }, m);
  }
  return { svg, world: el('g', { id: 'world' }, svg) };
}

/** Click and Enter/Space do the same. */
function activate(target: Element, action: () => void): void {
  target.addEventListener('click', action);
  target.addEventListener('keydown', (ev) => {
    const k = (ev as KeyboardEvent).key;
    if (k === 'Enter' || k === ' ') { ev.preventDefault(); action(); }
  });
}

const COL_GAP = 64;
const ROW_H = 58;
const NODE_H = 40;
const LANE_HEAD = 26;
const MARGIN = 16;

function renderLanes(root: HTMLElement, graph: ViewGraph): void {
  const model: LaneModel = buildLanes(graph.finding!, { edges: graph.laneEdges ?? graph.edges });
  const byId = new Map(graph.functions.map((f) => [f.id, f]));
  document.getElementById('note')!.textContent = [graph.note, 'lanes: one thread each, time left to right; greyed: never runs while the wait blocks'].filter(Boolean).join('; ');
  const slots = contextSlots(model.lanes.map((l) => [l.context, ...l.nodes.flatMap((n) => (n.context ? [n.context] : []))]));
  legend(slots);
  const cols = Math.max(0, ...model.lanes.flatMap((l) => l.nodes.map((n) => n.col))) + 1;
  const ownWidth = (n: LaneNode) => Math.min(420, Math.max(96, Math.max(n.label.length * 7.4, (n.note?.length ?? 0) * 6.4) + 22));
  const colW = Array.from({ length: cols }, (_, c) => Math.max(96, ...model.lanes.flatMap((l) => l.nodes.filter((n) => n.col === c).map(ownWidth))));
  const colX: number[] = [];
  colW.reduce((x, w, i) => { colX[i] = x; return x + w + COL_GAP; }, MARGIN);
  const width = (colX[cols - 1] ?? MARGIN) + (colW[cols - 1] ?? 0) + MARGIN;
  const { world } = canvas(root, `finding lanes: ${model.title}`);
  const pos = new Map<string, { x: number; y: number; w: number; node: LaneNode }>();
  let y = MARGIN;
  const laneGroups: SVGGElement[] = [];
  for (const lane of model.lanes) {
    const rows = Math.max(0, ...lane.nodes.map((n) => n.row)) + 1;
    const h = LANE_HEAD + rows * ROW_H + 6;
    const g = el('g', { class: `lane ${lane.role}`, 'data-lane': lane.id, 'data-context': lane.context }, world);
    laneGroups.push(g);
    el('rect', { class: 'lane-bg', x: 0, y, width, height: h }, g);
    el('rect', { class: `lane-bar ctx-${slots.get(lane.context)}`, x: 0, y, width: 5, height: h }, g);
    const title = el('text', { class: 'lane-title', x: 14, y: y + 17 }, g);
    title.textContent = lane.title + (lane.note ? ` — ${lane.note}` : '');
    const top = y + LANE_HEAD;
    for (const span of lane.lockSpans) {
      const x0 = colX[span.from] - 10;
      const x1 = colX[span.to] + colW[span.to] + 10;
      el('rect', { class: `lock-band ${span.state}`, x: x0, y: top - 8, width: x1 - x0, height: NODE_H + 16, rx: 8 }, g);
      el('text', { class: 'lock-label', x: x1 - 6, y: top - 12, 'text-anchor': 'end' }, g).textContent = `${span.lock} ${span.state === 'held' ? 'held' : 'may be held'}`;
    }
    for (const n of lane.nodes) pos.set(n.key, { x: colX[n.col], y: top + n.row * ROW_H, w: ownWidth(n), node: n });
    y += h + 10;
  }
  layoutSize = { width, height: y + MARGIN };

  model.lanes.forEach((lane, li) => {
    const g = laneGroups[li];
    for (const l of lane.links) {
      const a = pos.get(l.from)!;
      const b = pos.get(l.to)!;
      const ax = a.x + a.w;
      const ay = a.y + NODE_H / 2;
      const bx = b.x;
      const by = b.y + NODE_H / 2;
      const group = el('g', { class: `edge ${l.kind}${l.never ? ' never' : ''}${l.lockState === 'held' ? ' locked' : ''}`, 'data-kind': l.kind }, g);
      const dx = Math.max(20, (bx - ax) / 2);
      el('path', { d: `M ${ax} ${ay} C ${ax + dx} ${ay}, ${bx - dx} ${by}, ${bx} ${by}`, 'marker-end': `url(#arrow-${l.kind})` }, group);
      // Greyed links keep only the labels that say something about threads (hand-offs).
      const label = l.never && l.kind !== 'handoff' && l.kind !== 'sequenced' ? '' : l.label;
      // Cut to the gap between the two nodes; the tooltip has the whole label.
      const room = Math.max(4, Math.floor((bx - ax - 6) / 6.3));
      if (label) el('text', { class: 'edge-label', x: (ax + bx) / 2, y: (ay + by) / 2 - 5 }, group).textContent = label.length > room ? `${label.slice(0, room - 1)}…` : label;
      el('title', {}, group).textContent = `${l.label ? `${l.label}\n` : ''}${l.kind} call at ${l.site.file}:${l.site.line}${l.lockState ? ` (lock ${l.lockState})` : ''}`;
    }
    for (const n of lane.nodes) {
      const p = pos.get(n.key)!;
      const f = byId.get(n.function);
      const group = el('g', { class: `node lane-node ${n.marks.join(' ')}${n.never ? ' never' : ''}${n.function === state!.selected ? ' selected' : ''}`, transform: `translate(${p.x},${p.y})`, tabindex: 0, role: 'button', 'data-id': n.function, 'data-key': n.key }, g);
      el('rect', { width: p.w, height: NODE_H, rx: 6 }, group);
      // A call moved to another thread by a hand-off carries that thread's colour.
      if (n.context) el('rect', { class: `ctx-stripe ctx-${slots.get(n.context)}`, x: 3, y: 5, width: 4, height: NODE_H - 10, rx: 1 }, group);
      el('text', { x: 10, y: n.note ? 17 : 25 }, group).textContent = n.label;
      // Notes longer than the node are cut; the tooltip has them whole.
      const room = Math.floor((p.w - 16) / 6.4);
      if (n.note) el('text', { class: 'node-note', x: 10, y: 32 }, group).textContent = n.note.length > room ? `${n.note.slice(0, room - 1)}…` : n.note;
      const where = n.site ?? (f?.file && f.line ? { file: f.file, line: f.line, col: f.col ?? 1 } : undefined);
      const title = `${n.function}${n.note ? `\n${n.note}` : ''}${where ? `\n${where.file}:${where.line}` : ''}${n.context ? `\non ${contextLabel(n.context)}` : ''}${n.never ? '\nnever runs while the wait blocks' : ''}`;
      el('title', {}, group).textContent = title;
      group.setAttribute('aria-label', title.replace(/\n/g, '; '));
      activate(group, () => {
        select(n.function);
        if (where) vscode.postMessage({ type: 'open', file: where.file, line: where.line, col: where.col });
      });
    }
  });
  const laneOf = new Map(model.lanes.flatMap((l, i) => l.nodes.map((n) => [n.key, i] as const)));
  for (const c of model.cross) {
    const a = pos.get(c.from)!;
    const b = pos.get(c.to)!;
    // A call after the wait is linked to its caller only across neighbouring lanes; further down,
    // the line would cut through the threads between, and the call's note names its caller.
    if (c.kind === 'sequenced' && Math.abs(laneOf.get(c.from)! - laneOf.get(c.to)!) > 1) continue;
    const down = b.y > a.y;
    const ax = a.x + a.w / 2;
    const ay = down ? a.y + NODE_H : a.y;
    const bx = b.x + b.w / 2;
    const by = down ? b.y : b.y + NODE_H;
    const sequenced = c.kind === 'sequenced';
    const group = el('g', { class: `edge cross${sequenced ? ' sequenced' : ''}` }, world);
    const bend = down ? 30 : -30;
    el('path', { d: `M ${ax} ${ay} C ${ax} ${ay + bend}, ${bx} ${by - bend}, ${bx} ${by}`, 'marker-end': `url(#arrow-${sequenced ? 'sequenced' : 'cross'})` }, group);
    if (c.label) el('text', { class: 'edge-label cross-label', x: (ax + bx) / 2 + 6, y: (ay + by) / 2 }, group).textContent = c.label;
  }
}

function select(id: string | undefined): void {
  if (!state) return;
  state.selected = id;
  for (const n of document.querySelectorAll<SVGGElement>('.node')) n.classList.toggle('selected', !!id && n.dataset.id === id);
  vscode.setState(state);
}

/** The editor's cursor is in `file` at `line`: mark the innermost drawn function there, and bring it into view. */
function revealCursor(file: string, line: number): void {
  if (!state) return;
  const drawn = new Set([...document.querySelectorAll<SVGGElement>('.node')].map((n) => n.dataset.id));
  const hit = state.graph.functions
    .filter((f) => f.file === file && f.line !== undefined && f.line <= line && (f.endLine ?? f.line) >= line && drawn.has(f.id))
    .sort((a, b) => b.line! - a.line!)[0];
  if (!hit) return;
  select(hit.id);
  const node = document.querySelector<SVGGElement>(`.node.selected`);
  const box = document.getElementById('graph')!.getBoundingClientRect();
  const r = node?.getBoundingClientRect();
  if (!r || (r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom)) return;
  state.view = { ...state.view, x: state.view.x + box.left + box.width / 2 - (r.left + r.width / 2), y: state.view.y + box.top + box.height / 2 - (r.top + r.height / 2) };
  applyView();
}

function toggleExpansion(id: string, direction: 'in' | 'out'): void {
  if (!state) return;
  const list = state.expansions ?? [];
  const existing = list.find((x) => x.id === id && x.direction === direction);
  if (existing) {
    collapse(existing);
    render();
    return;
  }
  const key = `${id}|${direction}`;
  if (Date.now() - (pending.get(key) ?? 0) < PENDING_MS) return;
  pending.set(key, Date.now());
  vscode.postMessage({ type: 'expand', id, direction });
}

/** Removes what an expansion added, and the expansions made from what it added. */
function collapse(x: Applied): void {
  const s = state!;
  const removed = new Set(x.added);
  s.expansions = (s.expansions ?? []).filter((y) => y !== x);
  for (const y of [...s.expansions]) if (removed.has(y.id) && s.expansions.includes(y)) collapse(y);
  // Functions another expansion also brought stay.
  for (const y of s.expansions) for (const id of y.added) removed.delete(id);
  const edges = new Set(x.edges);
  s.graph.functions = s.graph.functions.filter((f) => !removed.has(f.id));
  s.graph.edges = s.graph.edges.filter((e) => !edges.has(edgeId(e)) && !removed.has(e.from) && !removed.has(e.to));
}

function applyExpansion(m: Expansion): void {
  pending.delete(`${m.id}|${m.direction}`);
  const s = state;
  if (!s || !s.graph.functions.some((f) => f.id === m.id)) return;
  const have = new Set(s.graph.functions.map((f) => f.id));
  const room = Math.max(0, MAX_DRAWN - have.size);
  const added = m.functions.filter((f) => !have.has(f.id)).slice(0, Math.min(room, EXPAND_LIMIT));
  for (const f of added) have.add(f.id);
  const haveEdges = new Set(s.graph.edges.map(edgeId));
  const edges = m.edges.filter((e) => have.has(e.from) && have.has(e.to) && !haveEdges.has(edgeId(e)) && (m.direction === 'out' ? e.from === m.id : e.to === m.id));
  const level = 1 + Math.max(0, ...(s.expansions ?? []).filter((x) => x.added.includes(m.id)).map((x) => x.level));
  s.graph.functions.push(...added);
  s.graph.edges.push(...edges);
  if (m.contexts) s.graph.contexts = { ...(s.graph.contexts ?? {}), ...m.contexts };
  const cut = m.truncated || m.functions.filter((f) => !have.has(f.id)).length > 0;
  s.expansions = [...(s.expansions ?? []), { id: m.id, direction: m.direction, added: added.map((f) => f.id), edges: edges.map(edgeId), level, truncated: cut }];
  if (cut) s.graph.note = `${m.direction === 'in' ? 'callers' : 'callees'} of ${shortName(m.id)} cut at ${added.length}`;
  render();
}

let layoutSize = { width: 1, height: 1 };
let fitPending = false;
/** The view is as fitting left it (no pan or zoom since): a resize fits again. */
let fitted = false;

/** Lanes are read, not surveyed: fitting never shrinks their text below this. */
const LANES_MIN_SCALE = 0.8;

/** Scales and centres the whole drawing in the view (never enlarging past 1:1); lanes start at the top left. */
function fitToView(): void {
  if (!state) return;
  fitted = true;
  const box = document.getElementById('graph')!.getBoundingClientRect();
  const scale = Math.min(1, box.width / layoutSize.width, box.height / layoutSize.height) || 1;
  if (document.querySelector('.lane')) {
    const s = Math.max(LANES_MIN_SCALE, scale);
    state.view = { scale: s, x: Math.max(0, (box.width - layoutSize.width * s) / 2), y: 0 };
    return;
  }
  state.view = { scale, x: (box.width - layoutSize.width * scale) / 2, y: Math.max(0, (box.height - layoutSize.height * scale) / 2) };
}

function applyView(): void {
  const world = document.getElementById('world');
  if (!world || !state) return;
  world.setAttribute('transform', `translate(${state.view.x},${state.view.y}) scale(${state.view.scale})`);
  vscode.setState(state);
}

function exportContent(format: 'svg' | 'dot' | 'mermaid'): string {
  const graph = state!.graph;
  if (format === 'dot') return toDot(graph, graph.title);
  if (format === 'mermaid') return toMermaid(graph);
  const svg = document.getElementById('canvas')!.cloneNode(true) as SVGSVGElement;
  // The export shows the whole drawing at 1:1, whatever the current pan and zoom.
  svg.querySelector('#world')?.removeAttribute('transform');
  svg.setAttribute('viewBox', `0 0 ${layoutSize.width} ${layoutSize.height}`);
  for (const h of svg.querySelectorAll('.handle')) h.remove();
  const style = document.createElementNS(SVG, 'style');
  style.textContent = EXPORT_STYLE;
  svg.insertBefore(style, svg.firstChild);
  return new XMLSerializer().serializeToString(svg);
}

/** The exported SVG drawn on a canvas at twice its size. */
async function exportPng(): Promise<string> {
  const svgText = exportContent('svg');
  const img = new Image();
  const loaded = new Promise<void>((resolve, reject) => { img.onload = () => resolve(); img.onerror = () => reject(new Error('the SVG could not be drawn')); });
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText.replace('<svg', `<svg width="${layoutSize.width}" height="${layoutSize.height}"`).replace(/ width="100%" height="100%"/, ''))}`;
  await loaded;
  const c = document.createElement('canvas');
  c.width = Math.ceil(layoutSize.width * 2);
  c.height = Math.ceil(layoutSize.height * 2);
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.scale(2, 2);
  ctx.drawImage(img, 0, 0);
  return c.toDataURL('image/png');
}

// Exported SVG carries fixed colours: theme variables do not exist outside VS Code.
const EXPORT_STYLE = `.node rect{fill:#fff;stroke:#444}.node.entry rect{stroke:#b00;stroke-width:2}.node.thread-root rect{stroke:#06c;stroke-width:2}.node.external rect{stroke-dasharray:4 3}
text{font:12px monospace;fill:#222}.edge path{fill:none;stroke:#555}.edge.handoff path{stroke:#c00;stroke-dasharray:6 4}.edge.indirect path{stroke:#06c;stroke-dasharray:3 3}.edge.macro path{stroke:#080}.edge.registration path{stroke:#999;stroke-dasharray:1 3}.edge-label{font-size:10px}
.ctx-stripe.ctx-0,.lane-bar.ctx-0{fill:#d18616}.ctx-1{fill:#1a85ff}.ctx-2{fill:#8a4fff}.ctx-3{fill:#2e9e44}.ctx-4{fill:#c9a400}.ctx-5{fill:#0aa}
.lane-bg{fill:#f7f7f7;stroke:#ddd}.lane-title{font-weight:bold}.lock-band{fill:#fbe3cf}.lock-band.may-be-held{fill:#fdf1e6}.node-note{font-size:10px;fill:#555}
.never{opacity:.45}.never rect{stroke-dasharray:4 3}.node.wait rect,.node.takes-lock rect,.node.acquires rect{stroke:#c00;stroke-width:2}.node.releaser rect,.node.holds rect{stroke:#06c;stroke-width:2}.edge.cross path{stroke:#c00;stroke-dasharray:5 4}`;

function setup(): void {
  const filters = document.getElementById('filters')!;
  for (const kind of KINDS) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = !state?.hiddenKinds.includes(kind);
    box.dataset.kind = kind;
    box.addEventListener('change', () => {
      if (!state) return;
      state.hiddenKinds = box.checked ? state.hiddenKinds.filter((k) => k !== kind) : [...state.hiddenKinds, kind];
      render();
    });
    label.append(box, ` ${kind}`);
    filters.appendChild(label);
  }
  document.getElementById('search')!.addEventListener('input', (ev) => {
    const q = (ev.target as HTMLInputElement).value.toLowerCase();
    for (const n of document.querySelectorAll<SVGGElement>('.node')) n.classList.toggle('match', !!q && (n.dataset.id ?? '').toLowerCase().includes(q));
  });
  document.getElementById('search')!.addEventListener('keydown', (ev) => {
    // Enter moves focus to the first match, so the keyboard can go on from there.
    if (ev.key === 'Enter') document.querySelector<SVGGElement>('.node.match')?.focus();
  });
  for (const format of ['svg', 'dot', 'mermaid'] as const) {
    document.getElementById(`export-${format}`)!.addEventListener('click', () => { if (state) vscode.postMessage({ type: 'export', format, content: exportContent(format) }); });
  }
  document.getElementById('export-png')!.addEventListener('click', () => { if (state) void exportPng().then((content) => vscode.postMessage({ type: 'export', format: 'png', content })); });
  for (const [id, key] of [['hide-tests', 'hideTests'], ['hide-deps', 'hideDeps']] as const) {
    const box = document.getElementById(id) as HTMLInputElement;
    box.checked = !!state?.[key];
    box.addEventListener('change', () => {
      if (!state) return;
      state[key] = box.checked;
      render();
    });
  }
  for (const mode of ['lanes', 'graph'] as const) {
    document.getElementById(`mode-${mode}`)!.addEventListener('click', () => {
      if (!state || state.mode === mode) return;
      state.mode = mode;
      fitPending = true;
      render();
    });
  }
  const root = document.getElementById('graph')!;
  root.addEventListener('wheel', (ev) => {
    if (!state) return;
    ev.preventDefault();
    fitted = false;
    const factor = ev.deltaY < 0 ? 1.1 : 1 / 1.1;
    const rect = root.getBoundingClientRect();
    const cx = ev.clientX - rect.left;
    const cy = ev.clientY - rect.top;
    state.view = { scale: state.view.scale * factor, x: cx - (cx - state.view.x) * factor, y: cy - (cy - state.view.y) * factor };
    applyView();
  }, { passive: false });
  let drag: { x: number; y: number } | null = null;
  root.addEventListener('pointerdown', (ev) => { if ((ev.target as Element).closest('.node, .edge')) return; drag = { x: ev.clientX, y: ev.clientY }; });
  window.addEventListener('pointerup', () => { drag = null; });
  window.addEventListener('pointermove', (ev) => {
    if (!drag || !state) return;
    state.view = { ...state.view, x: state.view.x + ev.clientX - drag.x, y: state.view.y + ev.clientY - drag.y };
    drag = { x: ev.clientX, y: ev.clientY };
    fitted = false;
    applyView();
  });
  window.addEventListener('keydown', (ev) => {
    if (!state || ['INPUT', 'BUTTON'].includes((ev.target as Element).tagName)) return;
    const step = 40;
    if (ev.key === '+' || ev.key === '=') state.view.scale *= 1.1;
    else if (ev.key === '-') state.view.scale /= 1.1;
    else if (ev.key === 'ArrowLeft') state.view.x += step;
    else if (ev.key === 'ArrowRight') state.view.x -= step;
    else if (ev.key === 'ArrowUp') state.view.y += step;
    else if (ev.key === 'ArrowDown') state.view.y -= step;
    else if (ev.key === 'f') fitToView();
    else return;
    if (ev.key !== 'f') fitted = false;
    ev.preventDefault();
    applyView();
  });
  // A panel turned from narrow to wide (or back) wants the other layout direction.
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const box = root.getBoundingClientRect();
      const want = box.width < box.height * 0.9 ? 'TB' : 'LR';
      if (state && root.dataset.engine === 'dagre' && !document.querySelector('.lane') && root.dataset.rankdir !== want) {
        fitPending = true;
        render();
      } else if (state && fitted) {
        fitToView();
        applyView();
      }
    }, 200);
  });
  window.addEventListener('message', (ev: MessageEvent<unknown>) => {
    const m = parseHostMessage(ev.data);
    if (!m) return;
    if (m.type === 'show') {
      state = { graph: m.graph, hiddenKinds: state?.hiddenKinds ?? [], hideTests: state?.hideTests, hideDeps: state?.hideDeps, view: { x: 0, y: 0, scale: 1 }, mode: m.graph.finding ? 'lanes' : 'graph', expansions: [] };
      pending.clear();
      fitPending = true;
      render();
    } else if (m.type === 'expanded') {
      applyExpansion(m);
    } else if (m.type === 'cursor') {
      revealCursor(m.file, m.line);
    }
  });
  render();
  vscode.postMessage({ type: 'ready' });
}

setup();
