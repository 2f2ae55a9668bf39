import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic } from 'vscode-languageserver/node';
import { PlaceMerger } from '../../src/server/diagnostics';

// The Problems panel gets one diagnostic per class and place; the merged object must stay the same
// object while its members do, because the publisher re-sends a file only when an item changed.

const at = (line: number, entry: string, code = 'deadlock-risk', place = true): Diagnostic => ({
  range: { start: { line, character: 2 }, end: { line, character: 7 } },
  severity: 1,
  source: 'lockpath',
  code,
  message: `${entry} (command) holds the GIL and waits`,
  relatedInformation: [{ location: { uri: 'file:///x.c', range: { start: { line: 1, character: 0 }, end: { line: 1, character: 1 } } }, message: `entry: ${entry} (command)` }],
  data: place ? { id: `id-${entry}`, entry } : { id: `id-${entry}` },
});

test('findings of one class at one place merge into one diagnostic naming every entry; others stay apart', () => {
  const merger = new PlaceMerger();
  const a = at(10, 'set_workers');
  const b = at(10, 'config_command');
  const otherClass = at(10, 'sync_command', 'stall');
  const otherLine = at(20, 'flush_command');
  const entryCall = at(10, 'set_workers', 'deadlock-risk', false);
  const out = merger.merge([a, otherClass, b, otherLine, entryCall]);
  assert.equal(out.length, 4);
  const merged = out[0];
  assert.match(merged.message, /^deadlock-risk from 2 entry points \(set_workers, config_command\); the first: set_workers \(command\) holds the GIL and waits$/);
  assert.deepEqual((merged.data as { ids: string[] }).ids, ['id-set_workers', 'id-config_command']);
  assert.deepEqual(merged.relatedInformation!.map((r) => r.message), ['entry: set_workers (command)', 'entry: config_command (command)']);
  assert.deepEqual(out.slice(1), [otherClass, otherLine, entryCall]);
  // Same members: the same merged object; a changed member: a new one.
  assert.equal(merger.merge([a, b])[0], merged);
  assert.notEqual(merger.merge([a, at(10, 'config_command')])[0], merged);
});
