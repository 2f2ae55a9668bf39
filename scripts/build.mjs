// Bundles each entry point with esbuild and copies the WASM grammars next to the bundles,
// because web-tree-sitter locates its runtime and the C grammar relative to the running script.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const outdir = 'dist';
mkdirSync(outdir, { recursive: true });

const entries = [
  { in: 'src/cli/main.ts', out: 'cli' },
  { in: 'src/analyzer/workerMain.ts', out: 'analyzer-worker' },
];
const optional = [
  { in: 'src/server/main.ts', out: 'server' },
  { in: 'src/client/extension.ts', out: 'client/extension', external: ['vscode'] },
];
for (const e of optional) if (existsSync(e.in)) entries.push(e);

// The graph view runs in a browser (a VS Code webview): its own IIFE bundle.
if (existsSync('src/webview/graphView.ts')) {
  await build({
    entryPoints: { 'webview/graphView': 'src/webview/graphView.ts' },
    outdir,
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: process.env.LOCKPATH_PACKAGE !== '1',
    minify: process.env.LOCKPATH_PACKAGE === '1',
    logLevel: 'warning',
  });
}

await Promise.all(entries.map((e) => build({
  entryPoints: { [e.out]: e.in },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Packaging (LOCKPATH_PACKAGE=1) ships minified bundles without source maps.
  sourcemap: process.env.LOCKPATH_PACKAGE !== '1',
  minify: process.env.LOCKPATH_PACKAGE === '1',
  // The CommonJS build of web-tree-sitter: its ESM build needs import.meta.url, absent in CJS bundles.
  alias: { 'web-tree-sitter': './node_modules/web-tree-sitter/tree-sitter.cjs' },
  // The native parser is optional and loaded lazily; never bundle it.
  external: ['tree-sitter', 'tree-sitter-c', ...(e.external ?? [])],
  logLevel: 'warning',
})));

copyFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm'), path.join(outdir, 'tree-sitter.wasm'));
copyFileSync(require.resolve('tree-sitter-c/tree-sitter-c.wasm'), path.join(outdir, 'tree-sitter-c.wasm'));
