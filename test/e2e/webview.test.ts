import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { graphViewHtml } from '../../src/client/graphViewHtml';
import { trace } from '../../src/analyzer/query/trace';
import { neighborhood } from '../../src/analyzer/query/neighborhood';
import { analyzeProject } from '../../src/analyzer/project';
import type { Finding } from '../../src/analyzer/concurrency/types';
import type { Edge, FunctionNode } from '../../src/analyzer/graph';
import { edgeKey } from '../../src/shared/webviewProtocol';
import type { ViewGraph } from '../../src/shared/webviewProtocol';
import { analyzeFixture, FIXTURES, REPO } from '../support/analyze';
import { CHROMIUM } from '../support/codeServer';

// The graph view's bundle rendered as a plain page from a JSON graph, in headless Chromium: the
// same HTML the extension serves, with acquireVsCodeApi stubbed to record posted messages.
const bundle = path.join(REPO, 'dist', 'webview', 'graphView.js');
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !existsSync(bundle) ? 'dist/webview/graphView.js is missing (npm run build)' : false;
if (skip) console.log(`# skipping graph view tests: ${skip}`);
const artifacts = path.join(REPO, 'test-artifacts', 'webview');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lockpath-webview-'));
let browser: Browser | undefined;
let page: Page;
let graph: ViewGraph;

before(async () => {
  if (skip) return;
  const { program } = await analyzeFixture('redis_module');
  const r = trace(program, { from: 'set_workers', via: ['COORDINATOR_TRIGGER'], to: 'conn_pool_shrink', maxPaths: 3 });
  const edges = r.paths.flatMap((p) => p.hops.map((h) => h.edge));
  const ids = new Set(edges.flatMap((e) => [e.from, e.to]));
  graph = { title: 'trace set_workers → conn_pool_shrink', functions: program.functions.filter((f) => ids.has(f.id)), edges, center: r.from.id, highlight: r.paths[0].hops.map((h) => edgeKey(h.edge)) };
  const html = graphViewHtml({
    csp: "default-src 'none'; img-src data:; style-src file:; script-src 'nonce-test'",
    nonce: 'test',
    script: pathToFileURL(bundle).toString(),
    style: pathToFileURL(path.join(REPO, 'media', 'graphView.css')).toString(),
  });
  writeFileSync(path.join(tmp, 'view.html'), html);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--allow-file-access-from-files'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  // In-page code is passed as text: the test's own compiled functions carry loader helpers.
  await page.addInitScript({ content: `
    window.posted = [];
    let saved;
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => saved, setState: (s) => { saved = s; } });
    window.savedState = () => JSON.parse(JSON.stringify(saved ?? null));
  ` });
  await page.goto(pathToFileURL(path.join(tmp, 'view.html')).toString());
  for (const until = Date.now() + 10_000; Date.now() < until && !(await posted()).some((m) => m.type === 'ready');) await new Promise((r) => setTimeout(r, 50));
  await page.evaluate(`window.postMessage({ type: 'show', graph: ${JSON.stringify(graph)} }, '*')`);
  await page.waitForSelector('.node');
});

after(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const posted = () => page.evaluate('window.posted') as Promise<{ type: string; [k: string]: unknown }[]>;

test('draws every function and styles edges by kind, with the hand-off to the IO thread', { skip }, async () => {
  assert.equal(await page.locator('.node').count(), graph.functions.length);
  assert.equal(await page.locator('.edge').count(), graph.edges.length);
  assert.ok(await page.locator('.edge.handoff').count() >= 1);
  assert.ok(await page.locator('.edge.indirect').count() >= 1);
  assert.match(await page.locator('.edge.handoff .edge-label').first().textContent() ?? '', /thread io_thread_main/);
  assert.equal(await page.locator('.node.entry').count(), 1, 'set_workers is an entry point');
  assert.ok(await page.locator('.edge.highlight').count() >= 1);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, 'trace-light.png') });
});

test('clicking a node asks the host to open its definition', { skip }, async () => {
  await page.locator('.node', { hasText: 'uvUpdateConnPoolSize' }).click();
  const open = (await posted()).filter((m) => m.type === 'open').at(-1)!;
  const fn = graph.functions.find((f) => f.name === 'uvUpdateConnPoolSize')!;
  assert.deepEqual(open, { type: 'open', file: fn.file, line: fn.line, col: fn.col });
  // The keyboard does the same: Tab reaches functions, Enter opens.
  const other = graph.functions.find((f) => f.name === 'conn_pool_shrink')!;
  await page.locator(`.node[data-id="${other.id}"]`).focus();
  await page.keyboard.press('Enter');
  assert.deepEqual((await posted()).filter((m) => m.type === 'open').at(-1), { type: 'open', file: other.file, line: other.line, col: other.col });
});

test('path filters hide functions under deps/ and tests (with their edges)', { skip }, async () => {
  const before = await page.locator('.node').count();
  await page.evaluate(`window.postMessage({ type: 'show', graph: ${JSON.stringify({ ...graph, functions: graph.functions.map((f) => (f.name === 'conn_pool_shrink' ? { ...f, file: 'deps/pool/conn.c' } : f)) })} }, '*')`);
  await page.locator('#hide-deps').check();
  assert.equal(await page.locator('.node').count(), before - 1);
  assert.equal(await page.locator('.node', { hasText: 'conn_pool_shrink' }).count(), 0);
  await page.locator('#hide-deps').uncheck();
  await page.evaluate(`window.postMessage({ type: 'show', graph: ${JSON.stringify(graph)} }, '*')`);
  assert.equal(await page.locator('.node').count(), before);
});

test('filters hide edge kinds; search marks matching functions', { skip }, async () => {
  await page.locator('#filters input[data-kind="handoff"]').uncheck();
  assert.equal(await page.locator('.edge.handoff').count(), 0);
  await page.locator('#filters input[data-kind="handoff"]').check();
  await page.locator('#search').fill('shrink');
  assert.equal(await page.locator('.node.match').count(), 1);
});

test('exports valid SVG, DOT and Mermaid', { skip }, async () => {
  for (const format of ['svg', 'dot', 'mermaid']) await page.locator(`#export-${format}`).click();
  const exports = (await posted()).filter((m) => m.type === 'export') as unknown as { format: string; content: string }[];
  const svg = exports.find((m) => m.format === 'svg')!.content;
  const parsed = await page.evaluate(`(() => {
    const d = new DOMParser().parseFromString(${JSON.stringify(svg)}, 'image/svg+xml');
    return { root: d.documentElement.nodeName, error: d.getElementsByTagName('parsererror').length, nodes: d.querySelectorAll('.node').length };
  })()`);
  assert.deepEqual(parsed, { root: 'svg', error: 0, nodes: graph.functions.length });
  assert.match(exports.find((m) => m.format === 'dot')!.content, /^digraph /);
  await page.locator('#export-png').click();
  for (const until = Date.now() + 10_000; Date.now() < until && !(await posted()).some((m) => m.type === 'export' && m.format === 'png');) await new Promise((r) => setTimeout(r, 50));
  const png = ((await posted()).find((m) => m.type === 'export' && m.format === 'png') as unknown as { content: string }).content;
  assert.match(png, /^data:image\/png;base64,/);
  const bytes = Buffer.from(png.slice(png.indexOf(',') + 1), 'base64');
  assert.deepEqual([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
  assert.ok(bytes.length > 2000, 'a drawn image, not an empty canvas');
  assert.match(exports.find((m) => m.format === 'mermaid')!.content, /^flowchart LR/);
});

test('follows a dark theme through VS Code CSS variables', { skip }, async () => {
  // VS Code sets its theme variables on the webview's root element through the CSSOM (the CSP
  // rightly forbids inline style tags); do the same.
  await page.evaluate(`(() => {
    const vars = { '--vscode-editor-background': '#1e1e1e', '--vscode-foreground': '#dddddd', '--vscode-editor-foreground': '#dddddd', '--vscode-editorWidget-background': '#252526', '--vscode-editorWidget-border': '#555555' };
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  })()`);
  const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
  assert.equal(bg, 'rgb(30, 30, 30)');
  await page.screenshot({ path: path.join(artifacts, 'trace-dark.png') });
});

const show = (g: ViewGraph) => page.evaluate(`window.postMessage({ type: 'show', graph: ${JSON.stringify(g)} }, '*')`);
/** Polls from the test side: the page's CSP forbids string evaluation inside waitForFunction's polling. */
async function waitForCount(selector: string, n: number): Promise<void> {
  for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) if (await page.locator(selector).count() === n) return;
  assert.equal(await page.locator(selector).count(), n, selector);
}
const lastPosted = async (type: string) => (await posted()).filter((m) => m.type === type).at(-1);

test('a finding is drawn as lanes: the GIL holder down to the wait, the awaited thread, and the greyed calls after the wait through the hand-off', { skip }, async () => {
  const project = await analyzeProject(path.join(FIXTURES, 'redis_module'), { workers: 0 });
  const f = project.findings.find((x: Finding) => x.class === 'deadlock-risk' && x.entry.function.startsWith('set_workers') && x.wait?.function === 'barrier_wait_and_destroy')!;
  const program = project.analysis.program;
  const reached = new Set(f.sequencedAfter.flatMap((s) => [s.function, ...s.reaches]));
  const laneEdges = program.edges.filter((e: Edge) => reached.has(e.from) && reached.has(e.to));
  const hops = [...f.path, ...f.awaited.flatMap((a) => [...a.pathToReleaser, ...(a.takesLock?.path ?? [])])];
  const ids = new Set([...hops.flatMap((h) => [h.from, h.to]), ...reached]);
  await show({ title: 'finding', functions: program.functions.filter((x: FunctionNode) => ids.has(x.id)), edges: hops, center: f.entry.function, highlight: f.path.map(edgeKey), finding: f, laneEdges });
  await page.waitForSelector('.lane');
  assert.equal(await page.locator('.lane').count(), 2 + f.awaited.length, 'the holder, each awaited thread, and what runs after the wait');
  const holder = page.locator('.lane.holder');
  const after = page.locator('.lane.after');
  assert.match(await holder.locator('.lane-title').textContent() ?? '', /main thread: set_workers \(config-set/);
  assert.equal(await holder.locator('.lock-band.held').count(), 1);
  assert.match(await holder.locator('.node.wait').textContent() ?? '', /barrier_wait_and_destroy.*unbounded spin/);
  // Greyed: the trigger macro's call, through the hand-off to the IO thread, to the pool shrink.
  assert.equal(await after.locator('.node.never', { hasText: 'COORDINATOR_TRIGGER' }).count(), 1);
  assert.equal(await after.locator('.node.never', { hasText: /^conn_pool_shrink/ }).count(), 1);
  assert.ok(await after.locator('.edge.handoff.never').count() >= 1);
  // Past the hand-off the greyed calls carry the IO thread's colour, as the legend says.
  assert.equal(await after.locator('.node.never', { hasText: /^conn_pool_shrink/ }).locator('.ctx-stripe').count(), 1);
  assert.equal(await after.locator('.node.never', { hasText: 'COORDINATOR_TRIGGER' }).locator('.ctx-stripe').count(), 0);
  assert.match(await page.locator('#legend').textContent() ?? '', /thread io_thread_main/);
  assert.equal(await after.locator('.node:not(.never)').count(), 0);
  assert.equal(await holder.locator('.node').count(), f.path.length + 1);
  assert.equal(await holder.locator('.node.never').count(), 0);
  assert.match(await page.locator('.lane.awaited .node.takes-lock').textContent() ?? '', /search_job.*takes GIL/);
  assert.deepEqual(await page.locator('.edge.cross:not(.sequenced) .edge-label').allTextContents(), ['waits for', 'needs GIL, held by set_workers']);
  // The fixture's one awaited thread sits between the holder and the calls after the wait: no line across it.
  assert.equal(await page.locator('.edge.cross.sequenced').count(), 0);
  assert.match(await after.locator('.node.never', { hasText: 'COORDINATOR_TRIGGER' }).textContent() ?? '', /in set_workers/);
  // The dark theme variables of the test before are still set.
  await page.screenshot({ path: path.join(artifacts, 'finding-lanes-dark.png') });
  await page.evaluate(`for (const k of [...document.documentElement.style]) document.documentElement.style.removeProperty(k)`);
  await page.screenshot({ path: path.join(artifacts, 'finding-lanes-light.png') });
  await holder.locator('.node.wait').click();
  assert.deepEqual(await lastPosted('open'), { type: 'open', ...f.wait!.site });
  // The same finding as a graph, and back.
  await page.locator('#mode-graph').click();
  assert.equal(await page.locator('.lane').count(), 0);
  assert.equal(await page.locator('.node').count(), ids.size);
  await page.locator('#mode-lanes').click();
  assert.equal(await page.locator('.lane').count(), 2 + f.awaited.length);
});

test('expand one hop of callers and callees through the host, collapse again; the expansions persist in the saved state', { skip }, async () => {
  const { program } = await analyzeFixture('redis_module');
  await show(graph);
  await page.waitForSelector('.node');
  const before = await page.locator('.node').count();
  // A function of the trace with callers the trace does not show.
  const callersOf = (id: string) => neighborhood(program, { around: id, depth: 1, direction: 'in', maxNodes: 51 });
  const id = graph.functions.filter((f) => f.defined).map((f) => f.id).find((x) => callersOf(x).functions.some((f) => !graph.functions.some((g) => g.id === f.id)))!;
  assert.ok(id, 'the fixture has callers outside the trace');
  const node = page.locator(`.node[data-id="${id}"]`);
  await node.locator('.handle.in').click();
  assert.deepEqual(await lastPosted('expand'), { type: 'expand', id, direction: 'in' });
  const answer = callersOf(id);
  const added = answer.functions.filter((f) => !graph.functions.some((g) => g.id === f.id));
  await page.evaluate(`window.postMessage(${JSON.stringify({ type: 'expanded', id, direction: 'in', functions: answer.functions, edges: answer.edges, truncated: answer.truncated })}, '*')`);
  await waitForCount('.node', before + added.length);
  const saved = await page.evaluate('window.savedState()') as { expansions: { id: string; added: string[] }[] };
  assert.deepEqual(saved.expansions.map((x) => [x.id, x.added.sort()]), [[id, added.map((f) => f.id).sort()]]);
  assert.equal(await node.locator('.handle.in.open').count(), 1);
  await node.locator('.handle.in').click();
  assert.equal(await page.locator('.node').count(), before);
  assert.deepEqual((await page.evaluate('window.savedState()') as { expansions: unknown[] }).expansions, []);
  // The keyboard does the same on a focused node: ] asks for its callees.
  await node.focus();
  await page.keyboard.press(']');
  assert.deepEqual(await lastPosted('expand'), { type: 'expand', id, direction: 'out' });
});

test('the editor cursor inside a function marks that function in the view', { skip }, async () => {
  await show(graph);
  await page.waitForSelector('.node');
  const fn = graph.functions.find((f) => f.name === 'conn_pool_shrink')!;
  await page.evaluate(`window.postMessage({ type: 'cursor', file: ${JSON.stringify(fn.file)}, line: ${fn.line! + 1} }, '*')`);
  await page.waitForSelector('.node.selected');
  assert.deepEqual(await page.locator('.node.selected').evaluateAll((ns) => ns.map((n) => n.getAttribute('data-id'))), [fn.id]);
  await page.evaluate(`window.postMessage({ type: 'cursor', file: 'nowhere.c', line: 1 }, '*')`);
  await page.evaluate(`window.postMessage({ type: 'cursor', file: 7 }, '*')`);
  assert.equal(await page.locator('.node.selected').count(), 1, 'unrelated and malformed cursor messages change nothing');
});

test('a graph over the drawing limit is cut to the functions nearest the centre, says so, and offers narrower requests', { skip }, async () => {
  const n = 2600;
  const functions: FunctionNode[] = Array.from({ length: n }, (_, i) => ({ id: `f${i}`, name: `f${i}`, file: 'big.c', line: i + 1, static: false, defined: true }));
  const edges: Edge[] = functions.slice(1).map((f, i) => ({ from: `f${Math.floor(i / 3)}`, to: f.id, kind: 'direct', site: { file: 'big.c', line: i + 1, col: 1 } }));
  await show({ title: 'big', functions, edges, center: 'f0', query: { around: 'f0', depth: 3, direction: 'both' }, truncated: true });
  await waitForCount('.node', 2000);
  assert.equal(await page.locator('#graph').getAttribute('data-engine'), 'fast');
  assert.match(await page.locator('#note').textContent() ?? '', /showing 2000 of 2600 functions \(those nearest f0\)/);
  assert.equal(await page.locator('.node[data-id="f0"]').count(), 1);
  assert.deepEqual(await page.locator('#narrow button').allTextContents(), ['depth 2', 'callees only', 'callers only']);
  await page.locator('#narrow button', { hasText: 'callees only' }).click();
  assert.deepEqual(await lastPosted('graph'), { type: 'graph', around: 'f0', depth: 3, direction: 'out' });
});

test('hops shared by several paths of a trace are drawn once', { skip }, async () => {
  await show({ ...graph, title: 'twice', edges: [...graph.edges, ...graph.edges] });
  await page.locator('#title', { hasText: 'twice' }).waitFor();
  assert.equal(await page.locator('.edge').count(), graph.edges.length);
  await show(graph);
});

test('a lock-order finding is drawn as one lane per thread trace, marking where each lock is held and taken', { skip }, async () => {
  const site = (line: number) => ({ file: 'm.c', line, col: 3 });
  const entry = (fn: string, kind: 'command' | 'thread-root') => ({ function: fn, kind, api: kind === 'command' ? 'RedisModule_CreateCommand' : 'pthread_create', site: site(1) });
  const hop = (from: string, to: string, line: number) => ({ from, to, kind: 'direct' as const, site: site(line) });
  const finding = {
    id: 'lo', class: 'lock-order', lock: 'GIL', message: '…', entry: entry('cmd', 'command'), path: [],
    threads: [
      { context: 'entries', entry: entry('cmd', 'command'), path: [hop('cmd', 'spec_lock', 10)], holds: { lock: 'GIL', mode: 'exclusive' as const, function: 'cmd', site: site(9) }, acquires: { lock: 'spec', mode: 'write' as const, function: 'spec_lock', site: site(11) } },
      { context: 'gc_thread', entry: entry('gc_thread', 'thread-root'), path: [hop('gc_thread', 'gc_step', 20)], holds: { lock: 'spec', mode: 'read' as const, function: 'gc_thread', site: site(19) }, acquires: { lock: 'GIL', mode: 'exclusive' as const, function: 'gc_step', site: site(22) } },
    ],
  };
  const functions = ['cmd', 'spec_lock', 'gc_thread', 'gc_step'].map((id, i) => ({ id, name: id, file: 'm.c', line: 10 * i + 1, static: false, defined: true }));
  await show({ title: 'lock order', functions, edges: [], finding });
  await page.locator('#title', { hasText: 'lock order' }).waitFor();
  assert.deepEqual(await page.locator('.lane .lane-title').allTextContents(), ['main thread: cmd (command)', 'thread gc_thread']);
  assert.match(await page.locator('.lane.thread .node.holds').first().textContent() ?? '', /holds GIL \(exclusive\)/);
  assert.equal(await page.locator('.node.acquires').count(), 2);
  assert.equal(await page.locator('.lock-band').count(), 2);
  assert.deepEqual(await page.locator('.edge.cross .edge-label').allTextContents(), ['waits for spec', 'waits for GIL']);
  await page.locator('.node.acquires', { hasText: 'gc_step' }).click();
  assert.deepEqual((await posted()).filter((m) => m.type === 'open').at(-1), { type: 'open', ...site(22) });
});
