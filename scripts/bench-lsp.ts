// Benchmark (not a test) of the language server over stdio on a real tree:
//   cold index time, warm (cached) start time, and didChange → publishDiagnostics latency for two
//   kinds of edit inside the entry function's body:
//   - inline: insert/remove ` /*x*/` after its `{` (moves columns only);
//   - structural: insert/remove a new line holding a call statement (moves every later line and
//     changes the function's calls, so the program is re-linked and the concurrency pass re-run).
//   npm run bench:lsp -- <dir> [--file src/config.c] [--function set_workers] [--edits 50] [--mode inline|structural|both]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest, createProtocolConnection, DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, ExitNotification,
  InitializedNotification, InitializeRequest, LogMessageNotification, PublishDiagnosticsNotification, RegistrationRequest, ShutdownRequest,
  StreamMessageReader, StreamMessageWriter, WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import { StatusNotification } from '../src/shared/protocol';

const REPO = path.join(__dirname, '..');

async function startServer(root: string, cacheDir: string) {
  const child = spawn(process.execPath, [path.join(REPO, 'dist', 'server.js'), '--stdio'], { stdio: 'pipe' });
  child.stderr.on('data', () => undefined);
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.onRequest(WorkDoneProgressCreateRequest.type, () => null);
  connection.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => ({})));
  connection.onRequest(RegistrationRequest.type, () => null);
  let readyAt = 0;
  let ready!: () => void;
  const readyPromise = new Promise<void>((r) => { ready = r; });
  connection.onNotification(StatusNotification, (s) => { if (s.state === 'ready' && !readyAt) { readyAt = performance.now(); ready(); } });
  let onDiagnostics: (() => void) | null = null;
  let lastPublish = 0;
  connection.onNotification(PublishDiagnosticsNotification.type, () => {
    lastPublish = performance.now();
    onDiagnostics?.();
  });
  // The server logs how it did each update (kind, parse, phase timings).
  const updateLogs: string[] = [];
  let indexLog = '';
  connection.onNotification(LogMessageNotification.type, (m) => {
    if (/ updated \(/.test(m.message)) updateLogs.push(m.message);
    if (/ indexed /.test(m.message)) indexLog = m.message;
    if (m.type === 1) console.error(`server error: ${m.message}`);
  });
  connection.listen();
  const started = performance.now();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri: null,
    workspaceFolders: [{ uri: pathToFileURL(root).toString(), name: 'bench' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } },
    initializationOptions: { cacheDir },
  });
  await connection.sendNotification(InitializedNotification.type, {});
  await readyPromise;
  return {
    connection,
    updateLogs,
    indexLog: () => indexLog,
    indexMs: readyAt - started,
    nextDiagnostics: () => new Promise<void>((r) => { onDiagnostics = () => { onDiagnostics = null; r(); }; }),
    /** Waits until the server has been quiet for `ms` (the rest of a publish burst). */
    async settle(ms = 300) {
      while (performance.now() - lastPublish < ms) await new Promise((r) => setTimeout(r, 50));
    },
    async stop() {
      await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
      await connection.sendNotification(ExitNotification.type).catch(() => undefined);
      connection.dispose();
      child.kill();
    },
  };
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** How the server did the updates (from its log lines): kinds and median phase timings. */
function summarizeUpdates(logs: string[]): string {
  const kinds = new Map<string, number>();
  const phases = new Map<string, number[]>();
  for (const l of logs) {
    const m = / updated \(([^)]*)\) in (\d+) ms(?:: (.*))?$/.exec(l);
    if (!m) continue;
    kinds.set(m[1], (kinds.get(m[1]) ?? 0) + 1);
    phases.set('total', [...(phases.get('total') ?? []), Number(m[2])]);
    for (const part of (m[3] ?? '').split(', ').filter(Boolean)) {
      const [name, ms] = part.split(' ');
      phases.set(name, [...(phases.get(name) ?? []), Number(ms)]);
    }
  }
  return `${[...kinds].map(([k, n]) => `${n}× ${k}`).join(', ')}; median ms: ${[...phases].map(([k, v]) => `${k} ${quantile(v, 0.5)}`).join(', ')}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a) && !a.endsWith('.c'));
  const fileFlag = args.indexOf('--file');
  const file = fileFlag >= 0 ? args[fileFlag + 1] : 'src/config.c';
  const editsFlag = args.indexOf('--edits');
  const edits = editsFlag >= 0 ? Number(args[editsFlag + 1]) : 50;
  const fnFlag = args.indexOf('--function');
  const fn = fnFlag >= 0 ? args[fnFlag + 1] : 'set_workers';
  const modeFlag = args.indexOf('--mode');
  const mode = modeFlag >= 0 ? args[modeFlag + 1] : 'both';
  if (!dir) {
    console.error('usage: npm run bench:lsp -- <dir> [--file src/config.c] [--function set_workers] [--edits 50] [--mode inline|structural|both]');
    process.exitCode = 2;
    return;
  }
  const root = path.resolve(dir);
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'lockpath-bench-cache-'));
  try {
    const cold = await startServer(root, cacheDir);
    console.log(`cold index (empty cache): ${cold.indexMs.toFixed(0)} ms`);
    console.log(`  server: ${cold.indexLog()}`);
    // Edits in the file that holds the entry point: toggle a comment inside a function body.
    const uri = pathToFileURL(path.join(root, file)).toString();
    const text = readFileSync(path.join(root, file), 'utf8');
    await cold.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'c', version: 1, text } });
    await cold.settle(1000);
    const anchor = text.indexOf('{', text.indexOf(`${fn}(`));
    if (anchor < 0) throw new Error(`${file} has no function ${fn}`);
    const lspPosition = (offset: number) => {
      const before = text.slice(0, offset);
      return { line: before.split('\n').length - 1, character: offset - (before.lastIndexOf('\n') + 1) };
    };
    const inline = { name: 'inline', at: lspPosition(anchor + 1), text: ' /*x*/' };
    // A whole new line after the `{` line: a call the function did not make.
    const structural = { name: 'structural', at: lspPosition(text.indexOf('\n', anchor) + 1), text: '  RedisModule_Log(NULL, "warning", "bench");\n' };
    const modes = mode === 'both' ? [inline, structural] : mode === 'structural' ? [structural] : [inline];
    let version = 1;
    for (const m of modes) {
      const latencies: number[] = [];
      cold.updateLogs.length = 0;
      const end = m.text.includes('\n') ? { line: m.at.line + 1, character: 0 } : { line: m.at.line, character: m.at.character + m.text.length };
      for (let i = 0; i < edits; i++) {
        const insert = i % 2 === 0;
        const wait = cold.nextDiagnostics();
        const t0 = performance.now();
        await cold.connection.sendNotification(DidChangeTextDocumentNotification.type, {
          textDocument: { uri, version: ++version },
          contentChanges: [insert ? { range: { start: m.at, end: m.at }, text: m.text } : { range: { start: m.at, end }, text: '' }],
        });
        // A server that never answers must fail the bench, not hang it.
        const answered = await Promise.race([wait.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
        if (!answered) throw new Error(`no publishDiagnostics within 60 s after ${m.name} edit ${i + 1}`);
        latencies.push(performance.now() - t0);
        await cold.settle();
      }
      console.log(`didChange → publishDiagnostics, ${m.name} edits (${edits}) in ${fn} of ${file}: median ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms`);
      console.log(`  server side: ${summarizeUpdates(cold.updateLogs)}`);
    }
    await cold.stop();
    const warm = await startServer(root, cacheDir);
    console.log(`warm start (snapshot + facts cached): ${warm.indexMs.toFixed(0)} ms = ${((warm.indexMs / cold.indexMs) * 100).toFixed(0)}% of cold`);
    console.log(`  server: ${warm.indexLog()}`);
    await warm.stop();
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

void main();
