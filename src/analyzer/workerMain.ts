// Worker-thread entry: parses and extracts batches of files. Facts are plain JSON, so they cross
// the thread boundary by structured clone. The header macro table arrives with the first batch.
import { parentPort } from 'node:worker_threads';
import { createParserBackend } from './parse/backends';
import { extractBatch, macroTableOf } from './extract/extractBatch';
import type { MacroTable } from './macros';
import type { ParserBackend } from './parse/syntax';
import type { WorkerRequest, WorkerResponse } from './workerProtocol';

if (!parentPort) throw new Error('workerMain must run in a worker thread');
const port = parentPort;
let table: MacroTable | undefined;
let parser: Promise<ParserBackend> | undefined;

port.on('message', async (req: WorkerRequest) => {
  try {
    const started = performance.now();
    parser ??= createParserBackend(req.parser);
    if (req.sharedMacros) table = macroTableOf(req.sharedMacros);
    if (!table) throw new Error('no macro table received');
    const results = extractBatch(req.jobs, await parser, table, new Map(req.localMacros));
    // A JSON string crosses the thread boundary much faster than a structured clone of the
    // deep fact objects, and JSON.parse on the other side is fast too.
    const response: WorkerResponse = { ok: true, results: JSON.stringify(results), ms: performance.now() - started };
    port.postMessage(response);
  } catch (err) {
    const response: WorkerResponse = { ok: false, error: (err as Error).message };
    port.postMessage(response);
  }
});
