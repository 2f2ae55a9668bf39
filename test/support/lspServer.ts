import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest, createProtocolConnection, ExitNotification, InitializedNotification, InitializeRequest, PublishDiagnosticsNotification,
  RegistrationRequest, ShutdownRequest, StreamMessageReader, StreamMessageWriter, WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import type { Diagnostic, ProtocolConnection, PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node';
import { REPO } from './analyze';

export interface ServerProcess { server: ChildProcessWithoutNullStreams; connection: ProtocolConnection }

/**
 * Starts the built server bundle over stdio with a connection that answers what VS Code answers
 * (progress tokens, empty configuration, dynamic registration). Listen after adding handlers.
 */
export function spawnServer(): ServerProcess {
  const server = spawn(process.execPath, [path.join(REPO, 'dist', 'server.js'), '--stdio'], { stdio: 'pipe' });
  server.stderr.on('data', () => undefined);
  const connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.onRequest(WorkDoneProgressCreateRequest.type, () => null);
  connection.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => ({})));
  connection.onRequest(RegistrationRequest.type, () => null);
  return { server, connection };
}

/** Shuts the server down as a client would, then makes sure the process is gone. */
export async function stopServer({ server, connection }: ServerProcess): Promise<void> {
  await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
  await connection.sendNotification(ExitNotification.type).catch(() => undefined);
  connection.dispose();
  server.kill();
}

export interface FolderServer extends ServerProcess {
  /** The diagnostics last published for `uri`, waiting (up to 30 s) for the first publication. */
  diagnostics(uri: string): Promise<Diagnostic[]>;
}

/** Starts the server on one workspace folder (initialize + initialized), recording published diagnostics. */
export async function startOnFolder(root: string, name: string): Promise<FolderServer> {
  const started = spawnServer();
  const published = new Map<string, Diagnostic[]>();
  const waiting = new Map<string, (() => void)[]>();
  started.connection.onNotification(PublishDiagnosticsNotification.type, (p: PublishDiagnosticsParams) => {
    published.set(p.uri, p.diagnostics);
    for (const resolve of waiting.get(p.uri)?.splice(0) ?? []) resolve();
  });
  started.connection.listen();
  await started.connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    workspaceFolders: [{ uri: pathToFileURL(root).toString(), name }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true, workspaceFolders: true } },
  });
  await started.connection.sendNotification(InitializedNotification.type, {});
  return {
    ...started,
    async diagnostics(uri: string): Promise<Diagnostic[]> {
      if (!published.has(uri)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri}`)), 30_000);
          const list = waiting.get(uri) ?? [];
          list.push(() => { clearTimeout(timer); resolve(); });
          waiting.set(uri, list);
        });
      }
      return published.get(uri)!;
    },
  };
}
