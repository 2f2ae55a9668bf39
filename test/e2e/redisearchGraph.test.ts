import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { REPO } from '../support/analyze';
import { VsCodeSession, missingPrerequisite } from '../support/codeServer';

// MOD-11658 in the graph view, on the RediSearch tree at dede3e11 (LOCKPATH_REDISEARCH_DIR): the
// finding as lanes (set_workers holding the GIL down to the barrier, the workers it waits for, and
// COORDINATOR_TRIGGER → … → MRConnManager_Shrink greyed), and the trace set_workers →
// MRConnManager_Shrink; screenshots of both in light, dark and high-contrast themes in
// test-artifacts/e2e-redisearch-graph.
const rsDir = process.env.LOCKPATH_REDISEARCH_DIR;
const skip = !rsDir ? 'LOCKPATH_REDISEARCH_DIR is not set' : missingPrerequisite();
if (skip) console.log(`# skipping the RediSearch graph view check: ${skip}`);
const vscode = new VsCodeSession(rsDir ?? '', path.join(REPO, 'test-artifacts', 'e2e-redisearch-graph'));

before(async () => { if (!skip) await vscode.start(); });
after(async () => { if (!skip) await vscode.stop(); });

function view(): FrameLocator {
  return vscode.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

async function palette(command: string): Promise<void> {
  const page = vscode.page;
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor({ timeout: 10_000 });
  await page.keyboard.type(command, { delay: 10 });
  // The row that starts with the command ("Color Theme" also matches "Browse Color Themes…").
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: new RegExp(`^\\s*${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }).first();
  await row.waitFor({ timeout: 15_000 });
  await row.click();
}

async function pick(name: string): Promise<void> {
  const page = vscode.page;
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 30_000 });
  await input.fill(name);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.click();
}

/** Clicks the "may block" CodeLens right above the editor line containing `text` (other functions' lenses are on screen too). */
async function clickLensAbove(text: string): Promise<void> {
  const page = vscode.page;
  const line = page.locator('.view-line', { hasText: text }).first();
  await line.waitFor({ timeout: 30_000 });
  await page.locator('.codelens-decoration', { hasText: /may\sblock/ }).first().waitFor({ state: 'attached', timeout: 60_000 });
  const y = (await line.boundingBox())!.y;
  const lenses = page.locator('.codelens-decoration', { hasText: /may\sblock/ });
  let best = -1;
  let bestY = -Infinity;
  for (let i = 0; i < await lenses.count(); i++) {
    const box = await lenses.nth(i).boundingBox();
    if (box && box.y < y && box.y > bestY) { best = i; bestY = box.y; }
  }
  assert.ok(best >= 0, `a CodeLens above ${text}`);
  await lenses.nth(best).locator('a').first().click();
}

/** Maximises the view's editor group (the second), or restores it. */
async function toggleMaximizedView(): Promise<void> {
  const page = vscode.page;
  await page.keyboard.press('Control+B'); // the side bar too
  await page.keyboard.press('Control+2');
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+M');
  await page.waitForTimeout(600);
}

async function theme(name: string): Promise<void> {
  await palette('Preferences: Color Theme');
  await pick(name);
  await vscode.page.waitForTimeout(800); // the webview receives the new theme variables
}

/** Screenshots of the view with its editor group maximised, in each theme. */
async function shots(name: string): Promise<void> {
  for (const [t, suffix] of [['Light Modern', 'light'], ['Dark Modern', 'dark'], ['Dark High Contrast', 'hc']] as const) {
    await theme(t);
    await vscode.shot(`${name}-${suffix}`);
  }
  await theme('Light Modern');
}

test('RediSearch MOD-11658: the finding as lanes and the trace set_workers → MRConnManager_Shrink, in light, dark and high-contrast themes', { skip, timeout: 420_000 }, () => vscode.ui('rs-graph', async () => {
  const page = vscode.page;
  await vscode.openFile('src/config.c', vscode.where('src/config.c', 'int set_workers('));
  await page.locator('.statusbar-item', { hasText: /lockpath: \d+ deadlock risk/ }).first().waitFor({ state: 'attached', timeout: 180_000 });
  // The CodeLens above set_workers shows its first finding: the barrier in redisearch_thpool_broadcast_new_state.
  await clickLensAbove('set_workers(const');
  const v = view();
  await v.locator('.lane').first().waitFor({ timeout: 60_000 });
  await toggleMaximizedView();
  const holder = v.locator('.lane.holder');
  assert.match(await holder.locator('.lane-title').textContent() ?? '', /main thread: set_workers \(config-set/);
  assert.match(await holder.locator('.node.wait').textContent() ?? '', /barrier_wait_and_destroy/);
  assert.equal(await holder.locator('.lock-band').count() >= 1, true);
  const after = v.locator('.lane.after');
  assert.equal(await after.locator('.node.never', { hasText: 'COORDINATOR_TRIGGER' }).count(), 1);
  assert.equal(await after.locator('.node.never', { hasText: /^MRConnManager_Shrink/ }).count(), 1);
  assert.ok(await after.locator('.edge.handoff.never').count() >= 1, 'the hand-off to the IO thread, greyed');
  assert.ok(await v.locator('.lane.awaited').count() >= 1);
  assert.match((await v.locator('.lane.awaited .lane-title').allTextContents()).join(' '), /thread thread_do/);
  await shots('rs-finding-lanes');
  await toggleMaximizedView();

  await page.keyboard.press('Control+1'); // back to the editor, so the view opens beside it again
  await palette('lockpath: Trace path between functions');
  await pick('set_workers');
  await pick('MRConnManager_Shrink');
  await v.locator('#title', { hasText: /trace set_workers → MRConnManager_Shrink/ }).waitFor({ timeout: 60_000 });
  const names = await v.locator('.node text').allTextContents();
  for (const fn of ['set_workers', 'triggerConnPerShard', 'MR_UpdateConnPoolSize', 'IORuntimeCtx_UpdateConnPoolSize', 'MRConnManager_Shrink']) assert.ok(names.includes(fn), `${fn} is drawn (drawn: ${names.join(', ')})`);
  await toggleMaximizedView();
  await shots('rs-trace-set-workers-shrink');
  await toggleMaximizedView();
}));
