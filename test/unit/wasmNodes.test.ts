import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createParserBackend } from '../../src/analyzer/parse/backends';
import type { SyntaxNode } from '../../src/analyzer/parse/syntax';
import { DEFAULT_SELECTION, listFiles, loadSources } from '../../src/analyzer/files';
import { extractBatch, macroTableOf } from '../../src/analyzer/extract/extractBatch';
import { prepareJobs } from '../../src/analyzer/analyze';
import { FIXTURES } from '../support/analyze';

// WasmNode reads web-tree-sitter's heap directly; it must agree with the library's own nodes on
// every property the extractor reads, for every node.

const FIELDS = ['declarator', 'type', 'value', 'body', 'name', 'parameters', 'condition', 'consequence', 'alternative', 'label', 'left', 'right', 'arguments', 'function', 'operator', 'no_such_field'];

function describe(n: SyntaxNode): unknown {
  return {
    type: n.type, text: n.text, startIndex: n.startIndex, endIndex: n.endIndex, startPosition: n.startPosition,
    endPosition: n.endPosition, isMissing: n.isMissing, hasError: n.hasError,
    named: n.namedChildren.length, children: n.children.length,
    fields: FIELDS.map((f) => {
      const c = n.childForFieldName(f);
      return c ? [c.type, c.startIndex, c.endIndex] : null;
    }),
  };
}

function walk(a: SyntaxNode, b: SyntaxNode, where: string): number {
  assert.deepEqual(describe(a), describe(b), where);
  let count = 1;
  const ac = a.children;
  const bc = b.children;
  for (let i = 0; i < ac.length; i++) count += walk(ac[i]!, bc[i]!, `${where}/${i}`);
  a.namedChildren.forEach((c, i) => assert.equal(c!.startIndex, b.namedChildren[i]!.startIndex));
  return count;
}

async function sources(dir: string) {
  const root = path.join(FIXTURES, dir);
  return (await loadSources(root, await listFiles(root, DEFAULT_SELECTION), DEFAULT_SELECTION)).files;
}

test('WasmNode agrees with web-tree-sitter nodes on every node of the fixtures', async () => {
  const direct = await createParserBackend('wasm');
  const library = await createParserBackend('wasm', { libraryNodes: true });
  let nodes = 0;
  for (const dir of ['redis_module', 'edges', 'partial', 'bad_input']) {
    // Non-ASCII text checks that indices are UTF-16 code units on both sides.
    for (const f of [...await sources(dir), { file: 'utf.c', text: 'int café(void) { return g("ü😀", 1); }\n' }]) {
      const a = direct.parse(f.text);
      const b = library.parse(f.text);
      try {
        nodes += walk(a.rootNode, b.rootNode, `${dir}/${f.file}`);
      } finally {
        a.delete?.();
        b.delete?.();
      }
    }
  }
  assert.ok(nodes > 10_000);
});

test('extraction gives the same facts with WasmNode and with web-tree-sitter nodes', async () => {
  const direct = await createParserBackend('wasm');
  const library = await createParserBackend('wasm', { libraryNodes: true });
  for (const dir of ['redis_module', 'edges', 'partial', 'findings']) {
    const { jobs, shared, local } = prepareJobs(await sources(dir));
    const table = macroTableOf(shared);
    assert.deepEqual(extractBatch(jobs, direct, table, local), extractBatch(jobs, library, table, local), dir);
  }
});
