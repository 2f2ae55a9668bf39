import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { analyzeFixture, FIXTURES } from '../support/analyze';
import { checkExpectation, readExpectations } from '../support/annotations';

// Every expectation comment in the fixture corpus becomes a test: the expected edges live next to
// the C code that produces them.
for (const dir of ['redis_module', 'edges', 'partial']) {
  test(`fixture annotations: ${dir}`, async (t) => {
    const expectations = readExpectations(path.join(FIXTURES, dir));
    assert.ok(expectations.length > 0, `no expectations found in ${dir}`);
    const { graph } = await analyzeFixture(dir);
    for (const e of expectations) {
      await t.test(e.raw, () => {
        const problem = checkExpectation(graph, e);
        assert.equal(problem, null, problem ?? '');
      });
    }
  });
}
