import { promises as fs } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import type { SkippedFile } from './graph';

export interface FileSelection {
  include: string[];
  exclude: string[];
  maxFileBytes: number;
}

export const DEFAULT_SELECTION: FileSelection = {
  include: ['**/*.c', '**/*.h'],
  // Version control, dependencies and build output never hold the code under review.
  exclude: ['**/.git/**', '**/node_modules/**', '**/build/**', '**/bin/**', '**/dist/**', '**/out/**', '**/.cache/**', '**/CMakeFiles/**'],
  maxFileBytes: 1024 * 1024,
};

export interface SourceFile { file: string; text: string }

export interface LoadedSources { files: SourceFile[]; skipped: SkippedFile[] }

/** Lists candidate files under `root` (relative paths, sorted for deterministic output). */
export async function listFiles(root: string, selection: FileSelection): Promise<string[]> {
  const isIncluded = picomatch(selection.include, { dot: false });
  const isExcluded = picomatch(selection.exclude, { dot: true });
  const out: string[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (isExcluded(relPath + '/') || isExcluded(relPath + '/x')) continue;
        await walk(path.join(dir, e.name), relPath);
      } else if ((e.isFile() || e.isSymbolicLink()) && isIncluded(relPath) && !isExcluded(relPath)) {
        // Links are read through; a dangling one is reported as unreadable rather than ignored.
        out.push(relPath);
      }
    }
  }
  await walk(root, '');
  return out.sort();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads files, skipping (and reporting) those too large, binary, not UTF-8 or unreadable. */
export async function loadSources(root: string, relFiles: string[], selection: FileSelection): Promise<LoadedSources> {
  const files: SourceFile[] = [];
  const skipped: SkippedFile[] = [];
  await Promise.all(relFiles.map(async (file) => {
    const abs = path.join(root, file);
    try {
      const stat = await fs.stat(abs);
      if (stat.size > selection.maxFileBytes) {
        skipped.push({ file, reason: 'too-large', detail: `${stat.size} bytes > limit ${selection.maxFileBytes}` });
        return;
      }
      const buf = await fs.readFile(abs);
      if (buf.subarray(0, 8192).includes(0)) {
        skipped.push({ file, reason: 'binary', detail: 'contains NUL bytes' });
        return;
      }
      let text: string;
      try {
        text = utf8.decode(buf);
      } catch {
        skipped.push({ file, reason: 'not-utf8', detail: 'not valid UTF-8' });
        return;
      }
      files.push({ file, text });
    } catch (err) {
      skipped.push({ file, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  }));
  files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  skipped.sort((a, b) => (a.file < b.file ? -1 : 1));
  return { files, skipped };
}
