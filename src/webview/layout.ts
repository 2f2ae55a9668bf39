// Layered left-to-right layout of a call graph. No DOM: the webview and the layout benchmark run
// this same code. dagre (network simplex ranking, crossing minimisation with dummy nodes for long
// edges) draws small graphs best but grows far too slow past a few hundred nodes (about 70 s for
// 2,000 nodes and 3,000 edges); larger graphs get a linear-time layered layout instead.
import dagre from '@dagrejs/dagre';

export interface LayoutNode { id: string; width: number; height: number }
export interface LayoutEdge { from: string; to: string; label?: string }
export interface Point { x: number; y: number }
export interface Layout {
  /** Node centres. */
  nodes: Map<string, Point>;
  /** Edge polylines, by edge index; a fast layout gives three points for a curve (start, control, end). */
  edges: Point[][];
  width: number;
  height: number;
  engine: 'dagre' | 'fast';
}

/** Up to this many nodes and edges dagre lays out in well under a second (see `npm run bench:layout`). */
export const DAGRE_MAX_NODES = 150;
export const DAGRE_MAX_EDGES = 300;

const NODESEP = 24;
const RANKSEP = 70;
const MARGIN = 20;

/** `rankdir` TB (top to bottom) suits narrow panels; the fast layout is always left to right. */
export function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[], engine?: 'dagre' | 'fast', rankdir: 'LR' | 'TB' = 'LR'): Layout {
  const use = engine ?? (nodes.length <= DAGRE_MAX_NODES && edges.length <= DAGRE_MAX_EDGES ? 'dagre' : 'fast');
  return use === 'dagre' ? dagreLayout(nodes, edges, rankdir) : fastLayout(nodes, edges);
}

function dagreLayout(nodes: LayoutNode[], edges: LayoutEdge[], rankdir: 'LR' | 'TB'): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir, nodesep: NODESEP, ranksep: rankdir === 'TB' ? 40 : RANKSEP, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
  edges.forEach((e, i) => g.setEdge(e.from, e.to, { label: e.label ?? '', width: (e.label ?? '').length * 6, height: e.label ? 14 : 0 }, `e${i}`));
  dagre.layout(g);
  const size = g.graph() as { width?: number; height?: number };
  const out = new Map<string, Point>();
  for (const n of nodes) {
    const p = g.node(n.id);
    out.set(n.id, { x: p.x, y: p.y });
  }
  return { nodes: out, edges: edges.map((e, i) => g.edge(e.from, e.to, `e${i}`).points as Point[]), width: size.width ?? 1, height: size.height ?? 1, engine: 'dagre' };
}

/**
 * Ranks by longest path over the graph with back edges (found by DFS) reversed, orders each rank
 * by the barycentre of its neighbours (a few down and up sweeps), and stacks ranks left to right.
 * Long edges get no dummy nodes: they are drawn as curves. O((V + E) · sweeps).
 */
function fastLayout(nodes: LayoutNode[], edges: LayoutEdge[]): Layout {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const n = nodes.length;
  const out: number[][] = Array.from({ length: n }, () => []);
  const inn: number[][] = Array.from({ length: n }, () => []);
  const pairs: [number, number][] = [];
  for (const e of edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    pairs.push([a, b]);
  }
  // Back edges: iterative DFS; an edge to a node on the stack closes a cycle.
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const adj: number[][] = Array.from({ length: n }, () => []);
  pairs.forEach(([a], i) => adj[a].push(i));
  const reversed = new Uint8Array(pairs.length);
  for (let s = 0; s < n; s++) {
    if (state[s]) continue;
    const stack: [number, number][] = [[s, 0]];
    state[s] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < adj[v].length) {
        top[1]++;
        const ei = adj[v][k];
        const w = pairs[ei][1];
        if (state[w] === 1) reversed[ei] = 1;
        else if (!state[w]) { state[w] = 1; stack.push([w, 0]); }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  pairs.forEach(([a, b], i) => {
    const [u, v] = reversed[i] ? [b, a] : [a, b];
    out[u].push(v);
    inn[v].push(u);
  });
  // Longest-path ranks in topological order (Kahn).
  const rank = new Int32Array(n);
  const indeg = Int32Array.from(inn, (l) => l.length);
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (!indeg[i]) queue.push(i);
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi];
    for (const w of out[v]) {
      rank[w] = Math.max(rank[w], rank[v] + 1);
      if (--indeg[w] === 0) queue.push(w);
    }
  }
  let maxRank = 0;
  for (let i = 0; i < n; i++) maxRank = Math.max(maxRank, rank[i]);
  const layers: number[][] = Array.from({ length: maxRank + 1 }, () => []);
  for (let i = 0; i < n; i++) layers[rank[i]].push(i);
  // Barycentre ordering: positions are fractional orders, re-sorted each sweep.
  const pos = new Float64Array(n);
  for (const layer of layers) layer.forEach((v, i) => { pos[v] = i; });
  const sweep = (layerIdx: number[], neighbours: number[][]) => {
    for (const r of layerIdx) {
      const layer = layers[r];
      const bary = new Map<number, number>();
      for (const v of layer) {
        const ns = neighbours[v];
        if (!ns.length) { bary.set(v, pos[v]); continue; }
        let sum = 0;
        for (const w of ns) sum += pos[w];
        bary.set(v, sum / ns.length);
      }
      layer.sort((a, b) => bary.get(a)! - bary.get(b)! || pos[a] - pos[b]);
      layer.forEach((v, i) => { pos[v] = i; });
    }
  };
  const down = layers.map((_, i) => i).slice(1);
  const up = layers.map((_, i) => i).reverse().slice(1);
  for (let it = 0; it < 4; it++) {
    sweep(down, inn);
    sweep(up, out);
  }
  // Coordinates: a rank taller than the drawing should be is folded into side-by-side columns
  // (keeping its order), so big neighbourhoods come out roughly as wide as tall, not as one tower.
  const perColumn = Math.max(20, Math.ceil(Math.sqrt(n) * 1.5));
  const rowH = Math.max(...nodes.map((v) => v.height), 1) + NODESEP;
  const heights = layers.map((layer) => Math.min(layer.length, perColumn) * rowH - NODESEP);
  const height = Math.max(1, ...heights) + 2 * MARGIN;
  const centre = new Map<string, Point>();
  let x = MARGIN;
  layers.forEach((layer, r) => {
    const w = Math.max(0, ...layer.map((v) => nodes[v].width));
    const columns = Math.ceil(layer.length / perColumn);
    const top = (height - heights[r]) / 2;
    layer.forEach((v, i) => {
      const c = Math.floor(i / perColumn);
      centre.set(nodes[v].id, { x: x + c * (w + NODESEP * 2) + w / 2, y: top + (i % perColumn) * rowH + nodes[v].height / 2 });
    });
    x += columns * w + (columns - 1) * NODESEP * 2 + RANKSEP;
  });
  const width = x - RANKSEP + MARGIN;
  const half = (id: string) => nodes[index.get(id)!].width / 2;
  const polylines = edges.map((e) => {
    const a = centre.get(e.from);
    const b = centre.get(e.to);
    if (!a || !b) return [];
    if (e.from === e.to) return [{ x: a.x + half(e.from), y: a.y }, { x: a.x + half(e.from) + 30, y: a.y - 30 }, { x: a.x, y: a.y - 17 }];
    const start = { x: a.x + (b.x >= a.x ? half(e.from) : -half(e.from)), y: a.y };
    const end = { x: b.x + (b.x > a.x ? -half(e.to) : half(e.to)), y: b.y };
    // Same-rank and backward edges bow out so they do not run through the nodes between.
    const bow = b.x > a.x ? 0 : 40 + Math.abs(b.y - a.y) / 4;
    return [start, { x: (start.x + end.x) / 2 + bow, y: (start.y + end.y) / 2 - (bow ? 20 : 0) }, end];
  });
  return { nodes: centre, edges: polylines, width, height, engine: 'fast' };
}
