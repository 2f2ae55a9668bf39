import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CodeLensRequest, DidOpenTextDocumentNotification, HoverRequest } from 'vscode-languageserver-protocol/node';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import { FIXTURES } from '../support/analyze';
import { startOnFolder, stopServer } from '../support/lspServer';
import type { FolderServer } from '../support/lspServer';

// Lock-order findings through the real server over stdio: a diagnostic where each thread takes its
// second lock, a hover that tells both threads' stories, and CodeLens on the cycle's functions.
const ROOT = path.join(FIXTURES, 'findings', 'gil_writers_mutex_bad');
const FILE = 'graph.c';
const uri = pathToFileURL(path.join(ROOT, FILE)).toString();
let server: FolderServer;

before(async () => { server = await startOnFolder(ROOT, 'locks'); });
after(() => stopServer(server));

const text = readFileSync(path.join(ROOT, FILE), 'utf8');
const lineOf = (needle: string, from = 0) => text.slice(0, text.indexOf(needle, from)).split('\n').length - 1;

test('a lock-order cycle is a problem at each thread\'s second lock, with both threads in the related information', async () => {
  const cycle = (await server.diagnostics(uri)).filter((d) => d.code === 'lock-order');
  const lines = cycle.map((d) => d.range.start.line).sort((a, b) => a - b);
  // Where the main thread takes the writers mutex (inside graph_acquire_writer) and where the commit thread takes the GIL.
  assert.deepEqual(lines, [lineOf('pthread_mutex_lock(&g->writers_mutex)'), lineOf('RedisModule_ThreadSafeContextLock(ctx)')].sort((a, b) => a - b));
  assert.ok(cycle.every((d) => d.severity === 1), 'lock-order is an error by default');
  const related = cycle[0].relatedInformation!.map((r) => r.message);
  assert.ok(related.some((m) => /main thread takes graph_t\.writers_mutex while holding GIL/.test(m)), related.join('\n'));
  assert.ok(related.some((m) => /thread commit_main takes GIL while holding graph_t\.writers_mutex/.test(m)), related.join('\n'));
});

test('hover on the GIL call in the commit thread explains both sides of the cycle', async () => {
  void server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text } });
  const line = lineOf('RedisModule_ThreadSafeContextLock(ctx)');
  const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character: text.split('\n')[line].indexOf('ThreadSafeContextLock') + 3 } });
  const value = (hover?.contents as MarkupContent).value;
  assert.match(value, /\*\*lock-order\*\*/);
  assert.match(value, /main thread, .*graph_set_command.*holds GIL/);
  assert.match(value, /thread `commit_main`: holds graph_t\.writers_mutex/);
});

test('CodeLens marks the functions of the cycle and the lock call sites', async () => {
  const lenses = await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
  const titles = (lenses ?? []).map((l) => `${l.range.start.line}: ${l.command?.title}`);
  assert.ok(titles.some((t) => t.startsWith(`${lineOf('static void *commit_main')}:`) && /in 1 lock-order cycle/.test(t)), titles.join('\n'));
  assert.ok(titles.some((t) => t.startsWith(`${lineOf('pthread_mutex_lock(&g->writers_mutex)')}:`) && /lock-order: takes graph_t\.writers_mutex holding GIL/.test(t)), titles.join('\n'));
});
