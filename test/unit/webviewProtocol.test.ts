import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostMessage, parseViewMessage } from '../../src/shared/webviewProtocol';

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

test('expand and re-graph requests carry a function id, a direction and a bounded depth', () => {
  assert.deepEqual(parseViewMessage({ type: 'expand', id: 'uvUpdateConnPoolSize@src/coord/rmr/rmr.c', direction: 'in' }), { type: 'expand', id: 'uvUpdateConnPoolSize@src/coord/rmr/rmr.c', direction: 'in' });
  assert.deepEqual(parseViewMessage({ type: 'expand', id: 'set_workers', direction: 'out', extra: 1 }), { type: 'expand', id: 'set_workers', direction: 'out' });
  assert.deepEqual(parseViewMessage({ type: 'graph', around: 'set_workers', depth: 1, direction: 'both' }), { type: 'graph', around: 'set_workers', depth: 1, direction: 'both' });
  for (const bad of [
    { type: 'expand', id: 'f', direction: 'both' },
    { type: 'expand', id: 'f; rm -rf /', direction: 'in' },
    { type: 'expand', id: '', direction: 'in' },
    { type: 'expand', id: 'f@a\nb', direction: 'in' },
    { type: 'expand', id: ['f'], direction: 'in' },
    { type: 'graph', around: 'f', depth: 11, direction: 'in' },
    { type: 'graph', around: 'f', depth: -1, direction: 'in' },
    { type: 'graph', around: 'f', depth: 1.5, direction: 'in' },
    { type: 'graph', around: 'f', depth: 1, direction: 'sideways' },
    { type: 'open', file: 'src/../../etc/passwd', line: 1, col: 1 },
    { type: 'open', file: 'C:/Windows/win.ini', line: 1, col: 1 },
  ]) assert.equal(parseViewMessage(bad), null, JSON.stringify(bad));
});

test('the view accepts only well-formed messages from its host', () => {
  const graph = { title: 't', functions: [], edges: [] };
  assert.deepEqual(parseHostMessage({ type: 'show', graph }), { type: 'show', graph });
  assert.deepEqual(parseHostMessage({ type: 'cursor', file: 'src/config.c', line: 12, junk: true }), { type: 'cursor', file: 'src/config.c', line: 12 });
  const expanded = { type: 'expanded', id: 'f', direction: 'out', functions: [], edges: [], truncated: false };
  assert.deepEqual(parseHostMessage(expanded), expanded);
  for (const bad of [
    null, 'show', { type: 'show' }, { type: 'show', graph: { title: 't', functions: {}, edges: [] } },
    { type: 'cursor', file: 'a.c', line: '3' }, { type: 'expanded', id: 'f', direction: 'up', functions: [], edges: [] },
    { type: 'open', file: 'a.c', line: 1, col: 1 },
  ]) assert.equal(parseHostMessage(bad), null, JSON.stringify(bad));
});
