// Worker-thread entry: parses and extracts a batch of files. Facts are plain JSON, so they cross
// the thread boundary by structured clone.
import { parentPort } from 'node:worker_threads';
import { createParserBackend } from './parse/backends';
import { extractBatch, macroTableOf } from './extract/extractBatch';
import type { WorkerRequest, WorkerResponse } from './workerProtocol';

if (!parentPort) throw new Error('workerMain must run in a worker thread');
const port = parentPort;

port.on('message', async (req: WorkerRequest) => {
  try {
    const started = performance.now();
    const parser = await createParserBackend(req.parser);
    const results = extractBatch(req.jobs, parser, macroTableOf(req.sharedMacros), new Map(req.localMacros));
    const response: WorkerResponse = { ok: true, results, ms: performance.now() - started };
    port.postMessage(response);
  } catch (err) {
    const response: WorkerResponse = { ok: false, error: (err as Error).message };
    port.postMessage(response);
  }
});
