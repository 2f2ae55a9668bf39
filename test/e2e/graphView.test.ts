import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { FIXTURES, REPO } from '../support/analyze';
import { VsCodeSession, missingPrerequisite } from '../support/codeServer';

// The graph view in a real VS Code: the trace command draws set_workers' path to the connection
// shrink through the IO-thread hand-off, a click in the view moves the editor, the editor's cursor
// marks its function in the view, and a node expands one hop. Screenshots in test-artifacts/e2e-graph.
const skip = missingPrerequisite();
if (skip) console.log(`# skipping the graph view in VS Code: ${skip}`);

const workspace = mkdtempSync(path.join(os.tmpdir(), 'lockpath-e2e-graph-'));
cpSync(path.join(FIXTURES, 'redis_module'), workspace, { recursive: true });
const vscode = new VsCodeSession(workspace, path.join(REPO, 'test-artifacts', 'e2e-graph'));

before(async () => { if (!skip) await vscode.start(); });
after(async () => {
  if (!skip) await vscode.stop();
  rmSync(workspace, { recursive: true, force: true });
});

/** The graph view's document: VS Code nests it in two iframes. */
function view(): FrameLocator {
  return vscode.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

/** Picks `name` in the open function quick pick (typing replaces any pre-filled value). */
async function pick(name: string): Promise<void> {
  const page = vscode.page;
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 30_000 });
  await input.fill(name);
  // Among all rows (the list keeps rows of the previous pick in the DOM for a while); a row's text
  // carries more than the label, so match a substring.
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
}

test('trace set_workers → conn_pool_shrink: the view shows the path with its hand-off; a click jumps the editor; the cursor marks its function; a node expands', { skip, timeout: 240_000 }, () => vscode.ui('graph-trace', async () => {
  const page = vscode.page;
  await vscode.openFile('config.c', vscode.where('config.c', 'set_workers(const', 2));
  // Ready once the server has indexed (the status bar counts the deadlock risks).
  await page.locator('.statusbar-item', { hasText: /lockpath: \d+ deadlock risk/ }).first().waitFor({ state: 'attached', timeout: 120_000 });
  await page.keyboard.press('F1');
  await page.keyboard.type('lockpath: Trace path between functions', { delay: 10 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Trace path between functions' }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await pick('set_workers');
  await pick('conn_pool_shrink');

  const v = view();
  await v.locator('.node').first().waitFor({ timeout: 60_000 });
  assert.match(await v.locator('#title').textContent() ?? '', /trace set_workers(@config\.c)? → conn_pool_shrink/);
  const names = await v.locator('.node text').allTextContents();
  for (const fn of ['set_workers', 'triggerConnPerShard', 'MR_UpdateConnPoolSize', 'uvUpdateConnPoolSize', 'conn_pool_shrink']) assert.ok(names.includes(fn), `${fn} is drawn (drawn: ${names.join(', ')})`);
  assert.ok(await v.locator('.edge.handoff').count() >= 1, 'a hand-off edge');
  assert.match((await v.locator('.edge.handoff .edge-label').allTextContents()).join(' '), /⇢ thread io_thread_main/);
  // Thread contexts from the server: the entry on the main thread, the shrink on the IO thread.
  assert.match(await v.locator('#legend').textContent() ?? '', /main thread.*thread io_thread_main/);
  assert.equal(await v.locator('.node[data-id="conn_pool_shrink"] .ctx-stripe.ctx-0').count(), 0);
  assert.equal(await v.locator('.node[data-id="conn_pool_shrink"] .ctx-stripe').count(), 1);
  await vscode.shot('graph-trace-set-workers');

  // A click on a function opens its definition in the editor.
  await v.locator('.node[data-id="conn_pool_shrink"] > rect').first().click();
  await page.waitForSelector('.tab.active[aria-label*="conn.c"]', { timeout: 15_000 });
  const [line] = vscode.where('conn.c', 'void conn_pool_shrink(').split(':');
  await page.locator('#status\\.editor\\.selection').filter({ hasText: new RegExp(`Ln\\s${line},\\sCol\\s\\d+`) }).waitFor({ timeout: 10_000 });
  await vscode.shot('graph-click-opened-conn-pool-shrink');

  // The editor's cursor in another function of the trace marks it in the view.
  await vscode.openFile('config.c', vscode.where('config.c', 'set_workers(const', 2));
  await v.locator('.node.selected[data-id^="set_workers"]').waitFor({ timeout: 15_000 });
  assert.equal(await v.locator('.node.selected').count(), 1);

  // One hop of callers of the shrink: the function io_runtime.c calls it from besides the update.
  const before = await v.locator('.node').count();
  await v.locator('.node[data-id="conn_pool_shrink"] .handle.in').click();
  await v.locator('.node[data-id="conn_pool_shrink"] .handle.in.open').waitFor({ timeout: 15_000 });
  assert.ok(await v.locator('.node').count() > before, 'callers were added');
  await vscode.shot('graph-expanded-callers');
  await v.locator('.node[data-id="conn_pool_shrink"] .handle.in').click();
  await v.locator('.node[data-id="conn_pool_shrink"] .handle.in:not(.open)').waitFor({ timeout: 15_000 });
  assert.equal(await v.locator('.node').count(), before);
}));
