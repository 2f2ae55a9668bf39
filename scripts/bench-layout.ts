// Layout time of the graph view on generated call-graph-like graphs, in node (the layout code has
// no DOM; the webview runs the same module). Prints medians; a benchmark, not a test.
//   npm run bench:layout -- [--nodes 2000] [--runs 5] [--dagre-too]
import { layoutGraph } from '../src/webview/layout';
import type { LayoutEdge, LayoutNode } from '../src/webview/layout';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const sizes = args.includes('--nodes') ? [opt('--nodes', 2000)] : [100, 250, 500, 1000, 2000, 5000];
const runs = opt('--runs', 5);
const dagreToo = args.includes('--dagre-too');

/** A call-graph-like test graph: BFS levels from a centre, most edges to the next level, some across and back. */
function syntheticGraph(n: number, seed = 1): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const levels = Math.max(2, Math.round(Math.log2(n)));
  const level: number[] = [0];
  const nodes: LayoutNode[] = [];
  for (let i = 0; i < n; i++) {
    if (i) level.push(1 + Math.floor(rnd() * (levels - 1)));
    const name = `fn_${i}_${'x'.repeat(Math.floor(rnd() * 24))}`;
    nodes.push({ id: name, width: Math.max(80, name.length * 7.5 + 24), height: 34 });
  }
  const byLevel: number[][] = Array.from({ length: levels }, () => []);
  level.forEach((l, i) => byLevel[l].push(i));
  const pick = (l: number) => { const c = byLevel[Math.max(0, Math.min(levels - 1, l))]; return c.length ? c[Math.floor(rnd() * c.length)] : 0; };
  const edges: LayoutEdge[] = [];
  for (let i = 1; i < n; i++) {
    edges.push({ from: nodes[pick(level[i] - 1)].id, to: nodes[i].id, label: rnd() < 0.2 ? 'MACRO' : '' });
    const r = rnd();
    if (r < 0.3) edges.push({ from: nodes[i].id, to: nodes[pick(level[i] + 1)].id });
    else if (r < 0.4) edges.push({ from: nodes[i].id, to: nodes[pick(level[i])].id });
    else if (r < 0.5) edges.push({ from: nodes[i].id, to: nodes[pick(level[i] - 2)].id });
  }
  return { nodes, edges };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('nodes  edges  engine   median ms  (runs)');
for (const n of sizes) {
  const { nodes, edges } = syntheticGraph(n);
  const engines: ('dagre' | 'fast' | undefined)[] = [undefined];
  if (dagreToo && n > 250) engines.push('dagre');
  for (const engine of engines) {
    const times: number[] = [];
    let used = '';
    for (let r = 0; r < (engine === 'dagre' ? 1 : runs); r++) {
      const t = performance.now();
      used = layoutGraph(nodes, edges, engine).engine;
      times.push(performance.now() - t);
    }
    console.log(`${String(n).padStart(5)}  ${String(edges.length).padStart(5)}  ${used.padEnd(7)}  ${median(times).toFixed(1).padStart(9)}  (${times.length})`);
  }
}
