import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import type { BackendName, ParserBackend, SyntaxTree } from './syntax';

const localRequire = createRequire(__filename);

/**
 * Finds a WASM file: next to the bundle in `dist/` when running bundled (the build copies them
 * there, and the VS Code server ships only `dist/`), otherwise in node_modules.
 */
function locateAsset(fileName: string, packageSpecifier: string): string {
  const besideBundle = path.join(__dirname, fileName);
  if (existsSync(besideBundle)) return besideBundle;
  return localRequire.resolve(packageSpecifier);
}

// web-tree-sitter is imported statically so the bundles carry it (the packaged extension has no
// node_modules); the native binding is optional and stays a lazy require.
async function createWasmBackend(): Promise<ParserBackend> {
  const runtimeWasm = locateAsset('tree-sitter.wasm', 'web-tree-sitter/tree-sitter.wasm');
  await Parser.init({ locateFile: () => runtimeWasm });
  const language = await Language.load(locateAsset('tree-sitter-c.wasm', 'tree-sitter-c/tree-sitter-c.wasm'));
  const parser = new Parser();
  parser.setLanguage(language);
  return {
    name: 'wasm',
    parse(text: string, oldTree?: SyntaxTree): SyntaxTree {
      const tree = parser.parse(text, oldTree as Parameters<typeof parser.parse>[1]);
      if (!tree) throw new Error('tree-sitter returned no tree');
      return tree as unknown as SyntaxTree;
    },
  };
}

function createNativeBackend(): ParserBackend {
  let NativeParser: new () => { setLanguage(l: unknown): void; parse(t: string | ((i: number) => string | null), old?: unknown, opts?: { bufferSize?: number }): SyntaxTree };
  let language: unknown;
  try {
    NativeParser = localRequire('tree-sitter');
    language = localRequire('tree-sitter-c');
  } catch (err) {
    throw new Error(`the native parser is not installed (optional dependency 'tree-sitter'): ${(err as Error).message.split('\n')[0]}`);
  }
  const parser = new NativeParser();
  parser.setLanguage(language);
  return {
    name: 'native',
    parse(text: string, oldTree?: SyntaxTree): SyntaxTree {
      // The native binding reads its input in chunks; feeding slices avoids its 32 KiB default
      // buffer limit on large files.
      return parser.parse((index: number) => (index < text.length ? text.slice(index, index + 65536) : null), oldTree);
    },
  };
}

export async function createParserBackend(name: BackendName): Promise<ParserBackend> {
  if (name === 'native') return createNativeBackend();
  if (name === 'wasm') return createWasmBackend();
  throw new Error(`unknown parser backend '${String(name)}' (expected wasm or native)`);
}
