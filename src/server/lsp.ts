import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Location, Range } from 'vscode-languageserver/node';
import type { Site } from '../analyzer/graph';

// Conversions between the analyzer's 1-based sites (relative to a folder root) and LSP's
// 0-based positions and URIs.

export function uriToPath(uri: string): string | null {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : null;
  } catch {
    return null;
  }
}

const uris = new Map<string, string>();

/** Memoized: diagnostics convert the same few hundred paths thousands of times per publish. */
export function pathToUri(p: string): string {
  let uri = uris.get(p);
  if (uri === undefined) {
    if (uris.size > 50_000) uris.clear();
    uris.set(p, (uri = pathToFileURL(p).toString()));
  }
  return uri;
}

export function siteRange(site: Site, length = 1): Range {
  const line = Math.max(0, site.line - 1);
  const character = Math.max(0, site.col - 1);
  return { start: { line, character }, end: { line, character: character + Math.max(1, length) } };
}

export function siteLocation(root: string, site: Site, length = 1): Location {
  return { uri: pathToUri(path.join(root, site.file)), range: siteRange(site, length) };
}

/** A markdown link that opens a site in the editor. */
export function siteLink(root: string, site: Site, label?: string): string {
  const uri = `${pathToUri(path.join(root, site.file))}#L${site.line},${site.col}`;
  return `[${label ?? `${site.file}:${site.line}`}](${uri})`;
}

/** The identifier around a 0-based character in a line of text. */
export function wordAt(lineText: string, character: number): { word: string; start: number } | null {
  const isWord = (c: string | undefined) => !!c && /[A-Za-z0-9_]/.test(c);
  let start = character;
  while (start > 0 && isWord(lineText[start - 1])) start--;
  let end = character;
  while (isWord(lineText[end])) end++;
  if (end === start) return null;
  return { word: lineText.slice(start, end), start };
}
