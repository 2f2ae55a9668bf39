import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CallHierarchyIncomingCallsRequest, CallHierarchyOutgoingCallsRequest, CallHierarchyPrepareRequest, CodeLensRequest, CompletionRequest,
  DidChangeTextDocumentNotification, DidCloseTextDocumentNotification, DidOpenTextDocumentNotification, HoverRequest,
} from 'vscode-languageserver-protocol/node';
import type { CallHierarchyItem } from 'vscode-languageserver-protocol/node';
import { FindingRequest, GraphRequest, TraceRequest } from '../../src/shared/protocol';
import { FIXTURES } from '../support/analyze';
import { startOnFolder, stopServer } from '../support/lspServer';
import type { FolderServer } from '../support/lspServer';

// Requests a client may send that make no sense for the tree: each gets an empty answer or an error
// response, and the server keeps answering real requests afterwards.
const ROOT = path.join(FIXTURES, 'redis_module');
const uri = (file: string) => pathToFileURL(path.join(ROOT, file)).toString();
let server: FolderServer;

before(async () => {
  server = await startOnFolder(ROOT, 'redis_module');
  const text = readFileSync(path.join(ROOT, 'config.c'), 'utf8');
  await server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: uri('config.c'), languageId: 'c', version: 1, text } });
  await server.diagnostics(uri('config.c'));
});

after(() => stopServer(server));

test('positions past the end of a document, and documents the server never saw, get empty answers', async () => {
  const c = server.connection;
  const far = { line: 1_000_000, character: 1_000_000 };
  assert.equal(await c.sendRequest(HoverRequest.type, { textDocument: { uri: uri('config.c') }, position: far }), null);
  assert.equal(await c.sendRequest(HoverRequest.type, { textDocument: { uri: uri('config.c') }, position: { line: -1, character: -5 } }), null);
  assert.equal(await c.sendRequest(CallHierarchyPrepareRequest.type, { textDocument: { uri: uri('config.c') }, position: far }), null);
  assert.deepEqual(await c.sendRequest(CodeLensRequest.type, { textDocument: { uri: 'untitled:Untitled-1' } }), []);
  assert.deepEqual(await c.sendRequest(CompletionRequest.type, { textDocument: { uri: 'file:///elsewhere/.lockpath' }, position: far }), []);
});

test('a call hierarchy item the server did not make is answered, not crashed on', async () => {
  const c = server.connection;
  const bogus: CallHierarchyItem = {
    name: 'no_such_function', kind: 12, uri: uri('config.c'),
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
    selectionRange: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
    data: { id: 'no_such_function@nowhere.c' },
  };
  assert.deepEqual(await c.sendRequest(CallHierarchyOutgoingCallsRequest.type, { item: bogus }), []);
  assert.deepEqual(await c.sendRequest(CallHierarchyIncomingCallsRequest.type, { item: bogus }), []);
  assert.deepEqual(await c.sendRequest(CallHierarchyOutgoingCallsRequest.type, { item: { ...bogus, data: undefined } }), []);
});

test('custom requests with missing or wrong parameters get error responses', async () => {
  const c = server.connection;
  await assert.rejects(c.sendRequest(GraphRequest, {} as never));
  await assert.rejects(c.sendRequest(GraphRequest, { around: 'no_such_function' } as never), /unknown function/);
  assert.equal(await c.sendRequest(FindingRequest, { id: 'ffffffffffffffff' }), null);
  await assert.rejects(c.sendRequest('lockpath/noSuchRequest', {}));
});

test('edits to documents that were never opened, or past their end, do not break the server', async () => {
  const c = server.connection;
  await c.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri: uri('never_opened.c'), version: 2 },
    contentChanges: [{ range: { start: { line: 3, character: 0 }, end: { line: 3, character: 0 } }, text: 'int x;\n' }],
  });
  await c.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri: uri('config.c'), version: 2 },
    contentChanges: [{ range: { start: { line: 100_000, character: 0 }, end: { line: 100_001, character: 0 } }, text: '/* appended */\n' }],
  });
  await c.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: uri('never_opened.c') } });
  // Still serving the tree: the MOD-11658 path is found.
  const r = await c.sendRequest(TraceRequest, { from: 'set_workers', to: 'barrier_wait_and_destroy' });
  assert.ok(r.paths.length > 0);
  assert.equal(server.server.exitCode, null, 'the server is still running');
});
