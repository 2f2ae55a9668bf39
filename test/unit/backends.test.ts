import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeFixture } from '../support/analyze';

function graphShape(g: Awaited<ReturnType<typeof analyzeFixture>>['graph']) {
  return { functions: g.functions, edges: g.edges, unresolved: g.unresolved, skipped: g.skipped, notes: g.notes };
}

let nativeAvailable = true;
try {
  require('tree-sitter');
} catch {
  nativeAvailable = false;
}

for (const dir of ['redis_module', 'edges', 'partial', 'bad_input']) {
  test(`wasm and native parsers produce identical graphs: ${dir}`, { skip: nativeAvailable ? false : 'optional native tree-sitter binding is not installed' }, async () => {
    const wasm = await analyzeFixture(dir, { parser: 'wasm' });
    const native = await analyzeFixture(dir, { parser: 'native' });
    assert.ok(wasm.graph.edges.length > 0 || dir === 'bad_input');
    assert.deepEqual(graphShape(native.graph), graphShape(wasm.graph));
  });
}

test('worker threads produce the same graph as in-process parsing', async () => {
  const inProcess = await analyzeFixture('redis_module', { workers: 0 });
  const threaded = await analyzeFixture('redis_module', { workers: 2 });
  assert.equal(threaded.graph.stats.workers, 2);
  assert.deepEqual(graphShape(threaded.graph), graphShape(inProcess.graph));
});
