import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CallHierarchyOutgoingCallsRequest, CallHierarchyPrepareRequest, CodeLensRequest, CompletionRequest, DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification, HoverRequest, InitializedNotification, InitializeRequest, PublishDiagnosticsNotification,
} from 'vscode-languageserver-protocol/node';
import type { CallHierarchyItem, Diagnostic, MarkupContent, ProtocolConnection, PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import { FindingsRequest, TraceRequest } from '../../src/shared/protocol';
import { FIXTURES } from '../support/analyze';
import { tempDir } from '../support/tempDir';
import { spawnServer, stopServer } from '../support/lspServer';
import type { ServerProcess } from '../support/lspServer';
import { ProjectSession } from '../../src/analyzer/session';

// The built server bundle, over stdio, driven with vscode-languageserver-protocol as VS Code would.
const ROOT = path.join(FIXTURES, 'redis_module');
const uri = (file: string) => pathToFileURL(path.join(ROOT, file)).toString();
let started: ServerProcess;
let connection: ProtocolConnection;
const diagnostics = new Map<string, Diagnostic[]>();
const diagnosticWaiters: (() => void)[] = [];
const progress: string[] = [];

function waitFor(predicate: () => boolean, what: string, ms = 30_000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const check = () => {
      if (predicate()) {
        clearTimeout(timer);
        resolve();
      } else diagnosticWaiters.push(check);
    };
    diagnosticWaiters.push(check);
  });
}

function open(file: string, languageId = 'c'): string {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  void connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: uri(file), languageId, version: 1, text } });
  return text;
}

function position(text: string, needle: string, offsetInNeedle = 0, after = ''): { line: number; character: number } {
  const idx = text.indexOf(needle, after ? text.indexOf(after) : 0);
  assert.ok(idx >= 0, `fixture contains ${needle}`);
  const before = text.slice(0, idx + offsetInNeedle);
  const line = before.split('\n').length - 1;
  return { line, character: before.length - before.lastIndexOf('\n') - 1 };
}

before(async () => {
  started = spawnServer();
  connection = started.connection;
  connection.onNotification(PublishDiagnosticsNotification.type, (p: PublishDiagnosticsParams) => {
    diagnostics.set(p.uri, p.diagnostics);
    for (const w of diagnosticWaiters.splice(0)) w();
  });
  connection.onNotification('$/progress', (p: { value: { kind: string; message?: string } }) => { if (p.value.message) progress.push(p.value.message); });
  connection.listen();
  const init = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    workspaceFolders: [{ uri: pathToFileURL(ROOT).toString(), name: 'redis_module' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true, workspaceFolders: true } },
  });
  assert.equal(init.serverInfo?.name, 'lockpath');
  assert.ok(init.capabilities.callHierarchyProvider);
  await connection.sendNotification(InitializedNotification.type, {});
});

after(() => stopServer(started));

test('indexing reports progress and publishes the deadlock at the wait and at the entry call', async () => {
  await waitFor(() => (diagnostics.get(uri('barrier.c')) ?? []).length > 0, 'diagnostics for barrier.c');
  assert.ok(progress.some((m) => /\d+ of \d+ files parsed/.test(m)), `progress messages: ${progress.join(' | ')}`);
  const atWait = diagnostics.get(uri('barrier.c'))!;
  const risk = atWait.find((d) => d.code === 'deadlock-risk' && /set_workers/.test(d.message));
  assert.ok(risk, 'deadlock-risk for set_workers at the spin-wait');
  assert.equal(risk.severity, 1);
  assert.equal(risk.source, 'lockpath');
  const related = risk.relatedInformation ?? [];
  assert.ok(related.some((r) => r.location.uri === uri('config.c') && /entry: set_workers/.test(r.message)));
  assert.ok(related.some((r) => /thread thread_loop takes the GIL here/.test(r.message) && r.location.uri === uri('search.c')));
  // CONFIG SET and FT.CONFIG reach the same barrier: one diagnostic there, naming both entries.
  const atLine = atWait.filter((d) => d.code === 'deadlock-risk' && d.range.start.line === risk.range.start.line);
  assert.equal(atLine.length, 1, atLine.map((d) => d.message).join(' | '));
  assert.match(risk.message, /^deadlock-risk from 2 entry points \((set_workers, config_command|config_command, set_workers)\); the first: /);
  assert.ok(related.some((r) => /entry: config_command/.test(r.message)) && related.some((r) => /entry: set_workers/.test(r.message)));
  assert.equal((risk.data as { ids: string[] }).ids.length, 2);
  await waitFor(() => (diagnostics.get(uri('config.c')) ?? []).some((d) => /set_workers holds the GIL here/.test(d.message)), 'diagnostic at the entry call in config.c');
});

test('hover on the barrier call explains the GIL path and the workers that need the GIL', async () => {
  const text = open('thpool.c');
  const pos = position(text, 'barrier_wait_and_destroy(&', 3);
  const h = await connection.sendRequest(HoverRequest.type, { textDocument: { uri: uri('thpool.c') }, position: pos });
  const value = (h?.contents as MarkupContent).value;
  assert.match(value, /barrier_wait_and_destroy` may block: `while \(barrier->received < barrier->count\)`/);
  assert.match(value, /Runs with the \*\*GIL held\*\* from \d+ entr/);
  assert.match(value, /set_workers/);
  assert.match(value, /waits for thread `thread_loop`[^\n]*takes the GIL in `search_job`/);
  assert.match(value, /\]\(file:\/\/[^)]*search\.c#L\d+,\d+\)/, 'clickable locations');
});

test('hover on a function name gives its thread contexts', async () => {
  const text = open('search.c');
  const pos = position(text, 'search_job(void', 2);
  const h = await connection.sendRequest(HoverRequest.type, { textDocument: { uri: uri('search.c') }, position: pos });
  assert.match((h?.contents as MarkupContent).value, /runs on thread thread_loop \(GIL not held\)/i);
});

test('CodeLens above the config setter and above the blocking call', async () => {
  open('config.c');
  const lenses = await connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: uri('config.c') } });
  const titles = (lenses ?? []).map((l) => l.command?.title ?? '');
  assert.ok(titles.some((t) => /^GIL held · from 1 entry · may block \(\d+ deadlock risks?\)$/.test(t)), titles.join('\n'));
  assert.ok(titles.some((t) => t.startsWith('⚠ deadlock-risk: blocks with the GIL held (workers_set_num_threads)')), titles.join('\n'));
  assert.ok((lenses ?? []).every((l) => l.command?.command.startsWith('lockpath.')));
});

test('call hierarchy follows the trigger macro into the function-pointer table', async () => {
  const text = readFileSync(path.join(ROOT, 'config.c'), 'utf8');
  const pos = position(text, 'set_workers(const char', 1);
  const items = await connection.sendRequest(CallHierarchyPrepareRequest.type, { textDocument: { uri: uri('config.c') }, position: pos });
  assert.equal(items?.[0].name, 'set_workers');
  const out = await connection.sendRequest(CallHierarchyOutgoingCallsRequest.type, { item: items![0] as CallHierarchyItem });
  const trigger = out?.find((c) => c.to.name === 'triggerConnPerShard');
  assert.ok(trigger, 'outgoing calls include the trigger');
  assert.match(trigger.to.detail ?? '', /indirect \(macro COORDINATOR_TRIGGER\): RSGlobalConfigTriggers\[externalTriggerId\]/);
});

test('custom requests: trace through the hand-off; bad names get an error, not a crash', async () => {
  const r = await connection.sendRequest(TraceRequest, { from: 'set_workers', via: ['COORDINATOR_TRIGGER'], to: 'conn_pool_shrink' });
  assert.ok(r.paths[0].hops.some((h) => h.kind === 'handoff'));
  // Thread contexts for colouring views: the entry on the main thread with the GIL, the shrink on the IO thread without it.
  assert.deepEqual(r.contexts?.[r.from.id], [{ context: 'entries', lock: 'GIL', state: 'held' }]);
  assert.deepEqual(r.contexts?.[r.to.id]?.map((c) => [c.context, c.state]), [['io_thread_main@io_runtime.c', 'not-held']]);
  await assert.rejects(connection.sendRequest(TraceRequest, { from: 'nope', to: 'conn_pool_shrink' }), /unknown function 'nope'/);
  await assert.rejects(connection.sendRequest(TraceRequest, {} as never), /needs \{ from, to \}/);
  const odd = await connection.sendRequest(HoverRequest.type, { textDocument: { uri: 'file:///not/in/workspace.c' }, position: { line: 99999, character: 5 } });
  assert.equal(odd, null);
  const findings = await connection.sendRequest(FindingsRequest, {});
  assert.ok(findings.some((f) => f.class === 'deadlock-risk'));
});

test('.lockpath files: syntax errors with positions, and completion of directives and names', async () => {
  const modelUri = pathToFileURL(path.join(ROOT, '.lockpath')).toString();
  await connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: modelUri, languageId: 'lockpath', version: 1, text: 'entry set_workers\nlock L acquire=a\nentry set_workerz\n' } });
  await waitFor(() => (diagnostics.get(modelUri) ?? []).length >= 2, 'model diagnostics');
  const d = diagnostics.get(modelUri)!;
  assert.ok(d.some((x) => x.range.start.line === 1 && /needs release=/.test(x.message) && x.severity === 1));
  assert.ok(d.some((x) => x.range.start.line === 2 && x.range.start.character === 6 && /unknown function 'set_workerz'/.test(x.message) && x.severity === 2));
  const atStart = await connection.sendRequest(CompletionRequest.type, { textDocument: { uri: modelUri }, position: { line: 3, character: 0 } });
  const labels = (Array.isArray(atStart) ? atStart : atStart?.items ?? []).map((i) => i.label);
  assert.ok(labels.includes('thread-root') && labels.includes('allow'));
  const names = await connection.sendRequest(CompletionRequest.type, { textDocument: { uri: modelUri }, position: { line: 0, character: 8 } });
  assert.ok((Array.isArray(names) ? names : names?.items ?? []).some((i) => i.label === 'set_workers'));
});

test('incremental edits with non-ASCII text move diagnostics by UTF-16 units and match a full analysis of the final text', async () => {
  let text = open('config.c');
  const entryCall = () => (diagnostics.get(uri('config.c')) ?? []).find((d) => /set_workers holds the GIL here/.test(d.message));
  await waitFor(() => !!entryCall(), 'entry-call diagnostic in config.c');
  const before = entryCall()!.range.start;
  const edits: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string }[] = [];
  const send = async (start: { line: number; character: number }, end: { line: number; character: number }, insert: string) => {
    edits.push({ range: { start, end }, text: insert });
    await connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: uri('config.c'), version: edits.length + 1 }, contentChanges: [{ range: { start, end }, text: insert }] });
  };
  // Same line, before the call: é is one UTF-16 code unit, 😀 two (and four UTF-8 bytes).
  const comment = '/* é😀 */ ';
  const at = position(text, 'workers_set_num_threads(); // expect-edge', 0, 'set_workers(const char');
  await send(at, at, comment);
  text = text.replace('workers_set_num_threads(); // expect-edge', comment + 'workers_set_num_threads(); // expect-edge');
  await waitFor(() => entryCall()?.range.start.character === before.character + comment.length, 'diagnostic moved right by the comment length in UTF-16 units');
  assert.equal(entryCall()!.range.start.line, before.line);
  // A new first line, then part of it deleted again: the diagnostic moves down one line.
  await send({ line: 0, character: 0 }, { line: 0, character: 0 }, '// ünïcødé 😀 header\n');
  await send({ line: 0, character: 3 }, { line: 0, character: 10 }, '');
  text = '// 😀 header\n' + text;
  await waitFor(() => entryCall()?.range.start.line === before.line + 1, 'diagnostic moved down a line');
  assert.equal(entryCall()!.range.start.character, before.character + comment.length);
  // The server's findings equal those of a fresh analysis of the final text.
  const fresh = tempDir(path.join(os.tmpdir(), 'lockpath-lsp-'));
  cpSync(ROOT, fresh, { recursive: true });
  writeFileSync(path.join(fresh, 'config.c'), text);
  const reference = await ProjectSession.open(fresh, { workers: 0 });
  const served = await connection.sendRequest(FindingsRequest, {});
  const expected = reference.findings.map((f) => ({ id: f.id, class: f.class, message: f.message, site: f.wait?.site ?? f.call!.site }));
  assert.deepEqual(served.map((f) => ({ id: f.id, class: f.class, message: f.message, site: f.site })), expected);
  const serverTrace = await connection.sendRequest(TraceRequest, { from: 'set_workers', to: 'barrier_wait_and_destroy' });
  assert.ok(serverTrace.paths[0].hops.some((h) => h.site.file === 'config.c' && h.site.line === before.line + 2 && h.site.col === before.character + comment.length + 1), 'trace hops carry the shifted site');
});

test('an edit that removes the blocking call clears the diagnostics whose evidence changed', async () => {
  const text = open('config.c');
  const start = position(text, 'workers_set_num_threads(); // expect-edge', 0, 'set_workers(const char');
  const version = 2;
  await connection.sendNotification(DidChangeTextDocumentNotification.type, {
    textDocument: { uri: uri('config.c'), version },
    contentChanges: [{ range: { start, end: { line: start.line, character: start.character + 'workers_set_num_threads();'.length } }, text: '/* resize later */' }],
  });
  await waitFor(() => !(diagnostics.get(uri('barrier.c')) ?? []).some((x) => /\bset_workers\b/.test(x.message)), 'set_workers finding to disappear from barrier.c');
  assert.ok((diagnostics.get(uri('barrier.c')) ?? []).some((x) => /^config_command/.test(x.message)), 'the FT.CONFIG finding stays, alone at the wait again');
});
