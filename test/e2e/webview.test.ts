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
import { edgeKey } from '../../src/shared/webviewProtocol';
import type { ViewGraph } from '../../src/shared/webviewProtocol';
import { analyzeFixture, REPO } from '../support/analyze';
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
  ` });
  await page.goto(pathToFileURL(path.join(tmp, 'view.html')).toString());
  await page.waitForFunction('window.posted.some((m) => m.type === "ready")');
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
  await page.waitForFunction('window.posted.some((m) => m.type === "export" && m.format === "png")');
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
