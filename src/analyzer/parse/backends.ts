import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import type { BackendName, ParserBackend, SyntaxTree } from './syntax';
import { LIBRARY_TREE, fieldIdsOf, wasmRuntimeSupported, wasmTree } from './wasmNodes';
import type { WasmRuntime } from './wasmNodes';

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
interface WasmSetup { runtime: Record<string, unknown>; language: Language }
let wasmSetup: Promise<WasmSetup> | undefined;

/** Initialises the WASM runtime and grammar once per thread: re-initialising would swap the
 * runtime under trees that are still alive. */
function setUpWasm(): Promise<WasmSetup> {
  wasmSetup ??= (async () => {
    const runtimeWasm = locateAsset('tree-sitter.wasm', 'web-tree-sitter/tree-sitter.wasm');
    // Emscripten turns the options object into the module object, which exposes the heap and
    // the exported functions WasmNode reads the trees with.
    const runtime: Record<string, unknown> = { locateFile: () => runtimeWasm };
    await Parser.init(runtime);
    const language = await Language.load(locateAsset('tree-sitter-c.wasm', 'tree-sitter-c/tree-sitter-c.wasm'));
    return { runtime, language };
  })();
  return wasmSetup;
}

async function createWasmBackend(libraryNodes: boolean): Promise<ParserBackend> {
  const { runtime, language } = await setUpWasm();
  const parser = new Parser();
  parser.setLanguage(language);
  const direct = !libraryNodes && wasmRuntimeSupported(runtime);
  const rt = runtime as unknown as WasmRuntime;
  const transferBuffer = direct ? rt._ts_init() : 0;
  const types = language.types;
  const fieldIds = fieldIdsOf(language.fields);
  return {
    name: 'wasm',
    parse(text: string, oldTree?: SyntaxTree): SyntaxTree {
      // A WasmNode tree carries the library tree it reads; that one is what tree-sitter re-uses.
      const old = oldTree ? ((oldTree as unknown as Record<symbol, unknown>)[LIBRARY_TREE] ?? oldTree) : undefined;
      const tree = parser.parse(text, old as Parameters<typeof parser.parse>[1]);
      if (!tree) throw new Error('tree-sitter returned no tree');
      if (!direct) return tree as unknown as SyntaxTree;
      return wasmTree(rt, transferBuffer, tree as unknown as Parameters<typeof wasmTree>[2], types, fieldIds, text);
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

/** `libraryNodes`: hand out web-tree-sitter's own nodes instead of WasmNodes (tests compare them). */
export async function createParserBackend(name: BackendName, options: { libraryNodes?: boolean } = {}): Promise<ParserBackend> {
  if (name === 'native') return createNativeBackend();
  if (name === 'wasm') return createWasmBackend(!!options.libraryNodes);
  throw new Error(`unknown parser backend '${String(name)}' (expected wasm or native)`);
}
