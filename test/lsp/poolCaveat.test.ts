import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DidOpenTextDocumentNotification, HoverRequest, InitializedNotification, InitializeRequest, PublishDiagnosticsNotification,
} from 'vscode-languageserver-protocol/node';
import type { Diagnostic, MarkupContent, ProtocolConnection, PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import { FIXTURES } from '../support/analyze';
import { spawnServer, stopServer } from '../support/lspServer';
import type { ServerProcess } from '../support/lspServer';

// A finding whose evidence goes through another pool's job says so where a reviewer meets it: in
// the problem's message and in the hover on the wait (FP_shared_pool_threads: ZIP.SYNC waits for
// zip_pool, whose job never takes the GIL; query_pool's job, run by the same thread function, does).
const ROOT = path.join(FIXTURES, 'findings', 'FP_shared_pool_threads');
const FILE = 'pool.c';
const uri = pathToFileURL(path.join(ROOT, FILE)).toString();
const CAVEAT = /no job queued to zip_pool, which this path waits on, takes the GIL: if those threads never run query_job, this is a stall/;
let started: ServerProcess;
let connection: ProtocolConnection;
let published: Diagnostic[] | null = null;
let onPublish: (() => void) | null = null;

before(async () => {
  started = spawnServer();
  connection = started.connection;
  connection.onNotification(PublishDiagnosticsNotification.type, (p: PublishDiagnosticsParams) => {
    if (p.uri !== uri) return;
    published = p.diagnostics;
    onPublish?.();
  });
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    workspaceFolders: [{ uri: pathToFileURL(ROOT).toString(), name: 'pools' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true, workspaceFolders: true } },
  });
  await connection.sendNotification(InitializedNotification.type, {});
});

after(() => stopServer(started));

const text = readFileSync(path.join(ROOT, FILE), 'utf8');
const waitLine = text.split('\n').findIndex((l) => l.includes('while (p->pending > 0)'));

test('the deadlock-risk problem at the pool wait carries the pool caveat', async () => {
  if (!published) await new Promise<void>((resolve, reject) => { const t = setTimeout(() => reject(new Error('no diagnostics for pool.c')), 30_000); onPublish = () => { clearTimeout(t); resolve(); }; });
  const risk = published!.find((d) => d.code === 'deadlock-risk' && d.range.start.line === waitLine);
  assert.ok(risk, JSON.stringify(published));
  assert.match(risk.message, CAVEAT);
});

test('the hover on the waiting call names the job and the caveat', async () => {
  const moduleUri = pathToFileURL(path.join(ROOT, 'module.c')).toString();
  const moduleText = readFileSync(path.join(ROOT, 'module.c'), 'utf8');
  void connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: moduleUri, languageId: 'c', version: 1, text: moduleText } });
  const lines = moduleText.split('\n');
  // The call in zip_sync_command (the file's header comment names it too).
  const line = lines.findIndex((l) => l.trim() === 'pool_wait_idle(zip_pool);');
  const hover = await connection.sendRequest(HoverRequest.type, { textDocument: { uri: moduleUri }, position: { line, character: lines[line].indexOf('pool_wait_idle') + 3 } });
  const value = (hover?.contents as MarkupContent | undefined)?.value ?? '';
  assert.match(value, /takes the GIL in `query_job`/, value);
  assert.match(value, CAVEAT, value);
});
