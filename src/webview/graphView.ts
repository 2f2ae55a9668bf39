// The graph view: draws a lockpath graph (functions and typed edges) as SVG with a layered layout
// (dagre), inside a VS Code webview or, for tests, a plain page. No remote content.
import dagre from '@dagrejs/dagre';
import type { Edge, FunctionNode } from '../analyzer/graph';
import { toDot, toMermaid } from '../analyzer/report/formats';
import { edgeKey } from '../shared/webviewProtocol';
import type { HostToView, ViewGraph, ViewToHost } from '../shared/webviewProtocol';

interface VsCodeApi { postMessage(m: ViewToHost): void; getState(): unknown; setState(s: unknown): void }
declare function acquireVsCodeApi(): VsCodeApi;

const vscode: VsCodeApi = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };
const SVG = 'http://www.w3.org/2000/svg';
const KINDS: Edge['kind'][] = ['direct', 'macro', 'indirect', 'handoff', 'registration'];

interface State { graph: ViewGraph; hiddenKinds: Edge['kind'][]; hideTests?: boolean; hideDeps?: boolean; view: { x: number; y: number; scale: number } }

const TEST_PATH = /(^|\/)(tests?|testing|unittests?)(\/|$)|(^|\/)test_[^/]*$/;

/** Functions kept by the path filters (external functions have no path and are always kept). */
function visibleFunctions(graph: ViewGraph, s: State): FunctionNode[] {
  return graph.functions.filter((f) => !f.file || !((s.hideTests && TEST_PATH.test(f.file)) || (s.hideDeps && f.file.startsWith('deps/'))));
}
let state: State | null = (vscode.getState() as State | null) ?? null;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

function shortName(id: string): string {
  const at = id.indexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}

function edgeLabel(e: Edge): string {
  if (e.kind === 'handoff') return `⇢ thread ${shortName(e.threadRoot ?? '')}`;
  if (e.kind === 'macro') return e.macro ?? '';
  if (e.kind === 'indirect') return e.macro ? `${e.macro}: ${e.via ?? ''}` : e.via ?? '';
  if (e.kind === 'registration') return e.entryKind ?? '';
  return '';
}

function nodeClass(f: FunctionNode, graph: ViewGraph): string {
  const classes = ['node'];
  if (f.entry?.length) classes.push('entry');
  if (f.threadRoot?.length) classes.push('thread-root');
  if (!f.defined) classes.push('external');
  if (f.id === graph.center) classes.push('center');
  return classes.join(' ');
}

function render(): void {
  const root = document.getElementById('graph')!;
  root.textContent = '';
  if (!state) return;
  const { graph } = state;
  document.getElementById('title')!.textContent = graph.title;
  document.getElementById('note')!.textContent = graph.note ?? '';
  const hidden = new Set(state.hiddenKinds);
  const functions = visibleFunctions(graph, state);
  const shown = new Set(functions.map((f) => f.id));
  const edges = graph.edges.filter((e) => !hidden.has(e.kind) && shown.has(e.from) && shown.has(e.to));
  const highlight = new Set(graph.highlight ?? []);

  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 70, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const f of functions) g.setNode(f.id, { width: Math.max(80, f.name.length * 7.5 + 24), height: 34 });
  edges.forEach((e, i) => g.setEdge(e.from, e.to, { label: edgeLabel(e), width: edgeLabel(e).length * 6, height: 14 }, `e${i}`));
  dagre.layout(g);
  const size = g.graph() as { width?: number; height?: number };
  layoutSize = { width: size.width ?? 1, height: size.height ?? 1 };
  if (fitPending) {
    fitPending = false;
    fitToView();
  }

  const svg = el('svg', { id: 'canvas', xmlns: SVG, width: '100%', height: '100%' }, root);
  const defs = el('defs', {}, svg);
  for (const kind of KINDS) {
    const m = el('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: `arrowhead ${kind}` }, m);
  }
  const world = el('g', { id: 'world' }, svg);
  edges.forEach((e, i) => {
    const pts = g.edge(e.from, e.to, `e${i}`).points as { x: number; y: number }[];
    const group = el('g', { class: `edge ${e.kind}${highlight.has(edgeKey(e)) ? ' highlight' : ''}`, tabindex: 0, 'data-kind': e.kind }, world);
    el('path', { d: pts.map((p, j) => `${j ? 'L' : 'M'} ${p.x} ${p.y}`).join(' '), 'marker-end': `url(#arrow-${e.kind})` }, group);
    const label = edgeLabel(e);
    if (label) {
      const mid = pts[Math.floor(pts.length / 2)];
      el('text', { x: mid.x, y: mid.y - 4, class: 'edge-label' }, group).textContent = label;
    }
    el('title', {}, group).textContent = `${shortName(e.from)} → ${shortName(e.to)} (${e.kind}) at ${e.site.file}:${e.site.line}${e.evidence ? `\n${e.evidence}` : ''}`;
    const open = () => vscode.postMessage({ type: 'open', file: e.site.file, line: e.site.line, col: e.site.col });
    group.addEventListener('click', open);
    group.addEventListener('keydown', (ev) => { if ((ev as KeyboardEvent).key === 'Enter') open(); });
  });
  for (const f of functions) {
    const n = g.node(f.id);
    const group = el('g', { class: nodeClass(f, graph), transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`, tabindex: 0, 'data-id': f.id }, world);
    el('rect', { width: n.width, height: n.height, rx: 6 }, group);
    el('text', { x: n.width / 2, y: 22, 'text-anchor': 'middle' }, group).textContent = f.name;
    el('title', {}, group).textContent = `${f.id}\n${f.defined ? `${f.file}:${f.line}` : 'external'}${f.entry?.length ? `\nentry: ${f.entry.map((x) => x.kind).join(', ')}` : ''}${f.threadRoot?.length ? '\nthread root' : ''}`;
    const open = () => { if (f.file && f.line) vscode.postMessage({ type: 'open', file: f.file, line: f.line, col: f.col ?? 1 }); };
    group.addEventListener('click', open);
    group.addEventListener('keydown', (ev) => { if ((ev as KeyboardEvent).key === 'Enter') open(); });
  }
  applyView();
}

let layoutSize = { width: 1, height: 1 };
let fitPending = false;

/** Scales and centres the whole graph in the view (never enlarging past 1:1). */
function fitToView(): void {
  if (!state) return;
  const box = document.getElementById('graph')!.getBoundingClientRect();
  const scale = Math.min(1, box.width / layoutSize.width, box.height / layoutSize.height) || 1;
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
  // The export shows the whole graph at 1:1, whatever the current pan and zoom.
  svg.querySelector('#world')?.removeAttribute('transform');
  svg.setAttribute('viewBox', `0 0 ${layoutSize.width} ${layoutSize.height}`);
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
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(layoutSize.width * 2);
  canvas.height = Math.ceil(layoutSize.height * 2);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.scale(2, 2);
  ctx.drawImage(img, 0, 0);
  return canvas.toDataURL('image/png');
}

// Exported SVG carries fixed colours: theme variables do not exist outside VS Code.
const EXPORT_STYLE = `.node rect{fill:#fff;stroke:#444}.node.entry rect{stroke:#b00;stroke-width:2}.node.thread-root rect{stroke:#06c;stroke-width:2}.node.external rect{stroke-dasharray:4 3}
text{font:12px monospace;fill:#222}.edge path{fill:none;stroke:#555}.edge.handoff path{stroke:#c00;stroke-dasharray:6 4}.edge.indirect path{stroke:#06c;stroke-dasharray:3 3}.edge.macro path{stroke:#080}.edge.registration path{stroke:#999;stroke-dasharray:1 3}.edge-label{font-size:10px}`;

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
  const root = document.getElementById('graph')!;
  root.addEventListener('wheel', (ev) => {
    if (!state) return;
    ev.preventDefault();
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
    applyView();
  });
  window.addEventListener('keydown', (ev) => {
    if (!state || (ev.target as Element).tagName === 'INPUT') return;
    const step = 40;
    if (ev.key === '+' || ev.key === '=') state.view.scale *= 1.1;
    else if (ev.key === '-') state.view.scale /= 1.1;
    else if (ev.key === 'ArrowLeft') state.view.x += step;
    else if (ev.key === 'ArrowRight') state.view.x -= step;
    else if (ev.key === 'ArrowUp') state.view.y += step;
    else if (ev.key === 'ArrowDown') state.view.y -= step;
    else if (ev.key === 'f') fitToView();
    else return;
    applyView();
  });
  window.addEventListener('message', (ev: MessageEvent<HostToView>) => {
    const m = ev.data;
    if (!m || m.type !== 'show' || !m.graph || !Array.isArray(m.graph.functions) || !Array.isArray(m.graph.edges)) return;
    state = { graph: m.graph, hiddenKinds: state?.hiddenKinds ?? [], view: { x: 0, y: 0, scale: 1 } };
    fitPending = true;
    render();
  });
  render();
  vscode.postMessage({ type: 'ready' });
}

setup();
