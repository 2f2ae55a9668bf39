// Worker-thread entry: parses and extracts batches of files; facts go back as JSON text. The
// header macro table arrives with the first batch.
import { parentPort, workerData } from 'node:worker_threads';
import { createParserBackend } from './parse/backends';
import { BatchCaches, extractBatch, macroTableOf } from './extract/extractBatch';
import type { MacroTable } from './macros';
import type { BackendName, ParserBackend } from './parse/syntax';
import type { WorkerRequest, WorkerResponse } from './workerProtocol';

if (!parentPort) throw new Error('workerMain must run in a worker thread');
const port = parentPort;
let table: MacroTable | undefined;
// Started before the first request arrives: WASM compilation overlaps the main thread's work.
const initial = (workerData as { parser?: BackendName } | undefined)?.parser;
let parser: Promise<ParserBackend> | undefined = initial ? createParserBackend(initial) : undefined;
let parserName = initial;
// A failed start is reported by the first request that awaits it, not as an unhandled rejection.
parser?.catch(() => undefined);
/** Kept across requests: the shared macro table, and so the expansions, stay the same. */
let caches: BatchCaches | undefined;

port.on('message', async (req: WorkerRequest) => {
  try {
    const started = performance.now();
    if (!parser || parserName !== req.parser) {
      parser = createParserBackend(req.parser);
      parserName = req.parser;
    }
    const p = await parser;
    if (req.sharedMacros) {
      table = macroTableOf(req.sharedMacros);
      caches?.dispose();
      caches = new BatchCaches(p);
    }
    if (!table || !caches) throw new Error('no macro table received');
    const results = extractBatch(req.jobs, p, table, req.localMacros ? new Map(req.localMacros) : null, caches);
    const stringifyStarted = performance.now();
    // A JSON string crosses the thread boundary much faster than a structured clone of the
    // deep fact objects, and JSON.parse on the other side is fast too.
    const json = JSON.stringify(results);
    const response: WorkerResponse = { ok: true, results: json, ms: performance.now() - started, startedAt: performance.timeOrigin + started, stringifyMs: performance.now() - stringifyStarted };
    port.postMessage(response);
  } catch (err) {
    const response: WorkerResponse = { ok: false, error: (err as Error).message };
    port.postMessage(response);
  }
});
