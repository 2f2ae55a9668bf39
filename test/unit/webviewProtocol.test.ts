import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseViewMessage } from '../../src/shared/webviewProtocol';

test('the host accepts only well-formed messages from the graph view', () => {
  assert.deepEqual(parseViewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseViewMessage({ type: 'open', file: 'src/config.c', line: 3, col: 1 }), { type: 'open', file: 'src/config.c', line: 3, col: 1 });
  assert.deepEqual(parseViewMessage({ type: 'export', format: 'png', content: 'data:image/png;base64,AAAA' }), { type: 'export', format: 'png', content: 'data:image/png;base64,AAAA' });
  for (const bad of [
    null, 42, 'open', {}, { type: 'run', command: 'rm -rf /' },
    { type: 'open', file: '../../etc/passwd', line: 1, col: 1 },
    { type: 'open', file: '/etc/passwd', line: 1, col: 1 },
    { type: 'open', file: 'a.c', line: 0, col: 1 },
    { type: 'open', file: 'a.c', line: 1.5, col: 1 },
    { type: 'export', format: 'exe', content: 'x' },
    { type: 'export', format: 'png', content: '<svg/>' },
    { type: 'export', format: 'svg', content: 7 },
  ]) assert.equal(parseViewMessage(bad), null, JSON.stringify(bad));
});
