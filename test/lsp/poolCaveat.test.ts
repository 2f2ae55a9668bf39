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

// A finding whose evidence goes through another pool's job says so where a reviewer meets it: in
// the problem's message and in the hover on the waiting call (FP_pool_handle_ids: ZIP.SYNC waits
// for the pool of zip_id, whose job never takes the GIL; the job queued to query_id, run by the
// same thread function, does, and integer ids cannot be proved to name two pools).
const ROOT = path.join(FIXTURES, 'findings', 'FP_pool_handle_ids');
const FILE = 'pool.c';
const uri = pathToFileURL(path.join(ROOT, FILE)).toString();
const CAVEAT = /no job queued to zip_id, which this path waits on, takes the GIL: if those threads never run query_job, this is a stall/;
let server: FolderServer;

before(async () => { server = await startOnFolder(ROOT, 'pools'); });
after(() => stopServer(server));

const text = readFileSync(path.join(ROOT, FILE), 'utf8');
const waitLine = text.split('\n').findIndex((l) => l.includes('while (p->pending > 0)'));

test('the deadlock-risk problem at the pool wait carries the pool caveat', async () => {
  const risk = (await server.diagnostics(uri)).find((d) => d.code === 'deadlock-risk' && d.range.start.line === waitLine);
  assert.ok(risk, 'a deadlock-risk problem at the wait');
  assert.match(risk.message, CAVEAT);
});

test('the hover on the waiting call names the job and the caveat', async () => {
  const moduleUri = pathToFileURL(path.join(ROOT, 'module.c')).toString();
  const moduleText = readFileSync(path.join(ROOT, 'module.c'), 'utf8');
  void server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: moduleUri, languageId: 'c', version: 1, text: moduleText } });
  const lines = moduleText.split('\n');
  // The call in wait_idle_of, which ZIP.SYNC calls.
  const line = lines.findIndex((l) => l.trim() === 'pool_wait_idle(pools[id]);');
  const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri: moduleUri }, position: { line, character: lines[line].indexOf('pool_wait_idle') + 3 } });
  const value = (hover?.contents as MarkupContent | undefined)?.value ?? '';
  assert.match(value, /takes the GIL in `query_job`/, value);
  assert.match(value, CAVEAT, value);
});
