import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedParser } from '../../src/analyzer/analyze';
import { extractBatch, macroTableOf } from '../../src/analyzer/extract/extractBatch';
import type { FileFacts, Stmt } from '../../src/analyzer/model';

// `#if` arms inside a function body: a build compiles one of them, so they are alternatives (an
// `if` with no condition), not statements that run in turn; arms only a Windows build compiles
// are not walked at all (lockpath analyses a POSIX build).

async function factsOf(source: string): Promise<FileFacts> {
  const parser = await sharedParser('wasm');
  const [result] = extractBatch([{ file: 'c.c', text: source }], parser, macroTableOf([]), null);
  assert.ok('facts' in result, 'extracted');
  return result.facts;
}

test('#if arms in a body are alternatives; Windows-only arms are left out, with their calls', async () => {
  const facts = await factsOf([
    'void f(void) {',
    '#ifdef USE_SPIN',
    '  spin_take();',
    '#elif defined(USE_FUTEX)',
    '  futex_take();',
    '#else',
    '  mutex_take();',
    '#endif',
    '#ifndef _WIN32',
    '  posix_only();',
    '#else',
    '  windows_only();',
    '#endif',
    '#if defined(_MSC_VER) && defined(FAST)',
    '  msvc_only();',
    '#endif',
    '}',
  ].join('\n'));
  const fn = facts.functions[0];
  const name = (st: Stmt): string => (st.s === 'call' ? (fn.calls[st.call].callee as { name: string }).name : st.s === 'if' ? `if(${st.then.map(name).join(',')} | ${st.else.map(name).join(',')})` : st.s);
  assert.deepEqual(fn.body.map(name), ['if(spin_take | if(futex_take | mutex_take))', 'posix_only']);
  assert.deepEqual(fn.calls.map((c) => (c.callee as { name: string }).name), ['spin_take', 'futex_take', 'mutex_take', 'posix_only']);
});
