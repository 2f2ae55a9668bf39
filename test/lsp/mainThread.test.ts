import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DidOpenTextDocumentNotification, HoverRequest } from 'vscode-languageserver-protocol/node';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import { FIXTURES } from '../support/analyze';
import { startOnFolder, stopServer } from '../support/lspServer';
import type { FolderServer } from '../support/lspServer';

// A started thread that waits holding the GIL for a command waits for Redis' main thread
// (guarded_lock_bad: the reaper may keep the GIL and waits for LP.DROP). Over real stdio: the
// problem at the wait, its related information at the command's release, and the hover.
const ROOT = path.join(FIXTURES, 'findings', 'guarded_lock_bad');
const FILE = 'reaper.c';
const uri = pathToFileURL(path.join(ROOT, FILE)).toString();
const text = readFileSync(path.join(ROOT, FILE), 'utf8');
const lines = text.split('\n');
const waitLine = lines.findIndex((l) => l.includes('pthread_cond_wait(&reap_cv'));
const signalLine = lines.findIndex((l) => l.includes('pthread_cond_signal(&reap_cv)'));
let server: FolderServer;

before(async () => { server = await startOnFolder(ROOT, 'main-thread'); });
after(() => stopServer(server));

test('the problem at the wait says it waits for the main thread, and points at the command that releases it', async () => {
  const risk = (await server.diagnostics(uri)).find((d) => d.code === 'deadlock-risk' && d.range.start.line === waitLine);
  assert.ok(risk, 'a deadlock-risk problem at the wait');
  assert.match(risk.message, /for Redis' main thread, which runs drop_command only holding the GIL/);
  const related = risk.relatedInformation ?? [];
  assert.ok(related.some((r) => r.location.range.start.line === signalLine && /Redis' main thread \(drop_command\) releases the wait/.test(r.message)), JSON.stringify(related.map((r) => r.message)));
});

test('the hover on the wait names the main thread as the one waited for', async () => {
  void server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text } });
  const character = lines[waitLine].indexOf('pthread_cond_wait') + 3;
  const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: waitLine, character } });
  const value = (hover?.contents as MarkupContent | undefined)?.value ?? '';
  assert.match(value, /waits for Redis' main thread: `drop_command` releases it/, value);
});
