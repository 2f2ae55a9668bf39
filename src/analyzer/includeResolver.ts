// Include resolution with plain string paths (no node:path): the linker's symbol table uses it, and
// the webview's type-checking reaches the symbol table through the analyzer's types.

/**
 * Resolves an include as the compiler would for quotes: next to the including file first, else by
 * path suffix anywhere among `files` (the -I directories are unknown). Shared by the include scan
 * (extract/includes.ts) and the linker (which resolves the quoted includes the facts record).
 */
export class IncludeResolver {
  private readonly byBase = new Map<string, string[]>();

  constructor(files: Iterable<string>) {
    for (const f of files) {
      const base = basename(f);
      const list = this.byBase.get(base);
      if (list) list.push(f);
      else this.byBase.set(base, [f]);
    }
  }

  /** The files `inc`, included from `from`, may be (none when it is not in the tree). */
  resolve(from: string, inc: string): string[] {
    const candidates = this.byBase.get(basename(inc));
    if (!candidates) return [];
    const relative = normalize(`${dirname(from)}/${inc}`);
    const exact = candidates.find((c) => c === relative);
    if (exact) return [exact];
    return candidates.filter((c) => c === inc || c.endsWith('/' + inc));
  }
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
}

/** `a/./b/../c.h` → `a/c.h`; a leading `..` that leaves the tree is kept (no file matches it). */
function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}
