import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, ExitNotification, InitializedNotification, InitializeRequest, PublishDiagnosticsNotification,
  ShutdownRequest, StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { TraceRequest } from '../../src/shared/protocol';
import { FIXTURES, REPO } from '../support/analyze';

// A bare client: a rootUri, no workspace folders, no progress, no configuration. The server must
// still index and answer, not crash on the capabilities it lacks.
test('a client with no capabilities and only a rootUri is served', async () => {
  const server = spawn(process.execPath, [path.join(REPO, 'dist', 'server.js'), '--stdio'], { stdio: 'pipe' });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  const published: string[] = [];
  let resolveDiagnostics!: () => void;
  const diagnosed = new Promise<void>((r) => { resolveDiagnostics = r; });
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published.push(p.uri);
    if (p.diagnostics.length) resolveDiagnostics();
  });
  connection.listen();
  try {
    await connection.sendRequest(InitializeRequest.type, { processId: null, rootUri: pathToFileURL(path.join(FIXTURES, 'redis_module')).toString(), capabilities: {} });
    await connection.sendNotification(InitializedNotification.type, {});
    await Promise.race([diagnosed, new Promise((_, reject) => setTimeout(() => reject(new Error(`no diagnostics; server said: ${stderr}`)), 30_000))]);
    const r = await connection.sendRequest(TraceRequest, { from: 'set_workers', to: 'barrier_wait_and_destroy' });
    assert.ok(r.paths.length > 0);
    assert.equal(server.exitCode, null, 'the server is still running');
  } finally {
    await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
    await connection.sendNotification(ExitNotification.type).catch(() => undefined);
    connection.dispose();
    server.kill();
  }
});
