// Layout time of the graph view on generated call-graph-like graphs: the layout module in node
// (it has no DOM; the webview runs the same code), then the whole render (layout + SVG) of the
// built view in headless Chromium. Prints medians; a benchmark, not a test.
//   npm run bench:layout -- [--nodes 2000] [--runs 5] [--dagre-too] [--no-browser]
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { graphViewHtml } from '../src/client/graphViewHtml';
import { layoutGraph } from '../src/webview/layout';
import type { LayoutEdge, LayoutNode } from '../src/webview/layout';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const sizes = args.includes('--nodes') ? [opt('--nodes', 2000)] : [100, 150, 250, 500, 1000, 2000, 5000];
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
  if (dagreToo && n > 150) engines.push('dagre');
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


/** The built view in headless Chromium: time from posting the graph to its SVG being in the page. */
async function browserRuns(): Promise<void> {
  const repo = path.join(__dirname, '..');
  const bundle = path.join(repo, 'dist', 'webview', 'graphView.js');
  const chromiumPath = process.env.LOCKPATH_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(bundle) || !existsSync(chromiumPath)) {
    console.log(`\n(browser run skipped: needs ${bundle} (npm run build) and Chromium at ${chromiumPath})`);
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lockpath-bench-'));
  writeFileSync(path.join(tmp, 'view.html'), graphViewHtml({ csp: "default-src 'none'; style-src file:; script-src 'nonce-b'", nonce: 'b', script: pathToFileURL(bundle).toString(), style: pathToFileURL(path.join(repo, 'media', 'graphView.css')).toString() }));
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.addInitScript({ content: 'window.acquireVsCodeApi = () => ({ postMessage() {}, getState() {}, setState() {} });' });
    await page.goto(pathToFileURL(path.join(tmp, 'view.html')).toString());
    console.log(`\nheadless Chromium (${(await browser.version())}), the built view: post → SVG drawn (layout + DOM), then one frame painted`);
    console.log('nodes  edges  drawn  engine   median ms  paint ms  (runs)');
    for (const n of sizes) {
      const { nodes, edges } = syntheticGraph(n);
      const graph = {
        title: `bench ${n}`, center: nodes[0].id,
        functions: nodes.map((x, i) => ({ id: x.id, name: x.id, file: 'bench.c', line: i + 1, static: false, defined: true })),
        edges: edges.map((e, i) => ({ from: e.from, to: e.to, kind: e.label ? 'macro' : 'direct', macro: e.label || undefined, site: { file: 'bench.c', line: i + 1, col: 1 } })),
      };
      const times: number[] = [];
      const paints: number[] = [];
      let engine = '';
      let drawn = 0;
      for (let r = 0; r < runs; r++) {
        const [ms, paint, used, count] = await page.evaluate(`new Promise((resolve) => {
          const t = performance.now();
          window.postMessage({ type: 'show', graph: ${JSON.stringify(graph)} }, '*');
          const wait = () => {
            const g = document.getElementById('graph');
            if (document.getElementById('canvas') && document.title && g.dataset.renderMs && document.querySelectorAll('.node').length) {
              const drawn = performance.now() - t;
              requestAnimationFrame(() => requestAnimationFrame(() => resolve([drawn, performance.now() - t, g.dataset.engine, document.querySelectorAll('.node').length])));
            } else setTimeout(wait, 1);
          };
          setTimeout(wait, 0);
        })`) as [number, number, string, number];
        times.push(ms);
        paints.push(paint);
        engine = used;
        drawn = count;
        // Clear so the next run measures a fresh render, not an unchanged DOM.
        await page.evaluate(`document.getElementById('graph').textContent = ''; delete document.getElementById('graph').dataset.renderMs;`);
      }
      console.log(`${String(n).padStart(5)}  ${String(edges.length).padStart(5)}  ${String(drawn).padStart(5)}  ${engine.padEnd(7)}  ${median(times).toFixed(1).padStart(9)}  ${median(paints).toFixed(1).padStart(8)}  (${runs})`);
    }
  } finally {
    await browser.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (!args.includes('--no-browser')) void browserRuns();
