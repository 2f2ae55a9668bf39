import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import {
  ConfigurationRequest, createProtocolConnection, ExitNotification, RegistrationRequest, ShutdownRequest,
  StreamMessageReader, StreamMessageWriter, WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import type { ProtocolConnection } from 'vscode-languageserver-protocol/node';
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
