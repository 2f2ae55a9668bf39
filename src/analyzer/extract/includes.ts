import path from 'node:path';

const INCLUDE = /^[ \t]*#[ \t]*include[ \t]*[<"]([^>"\n]+)[>"]/gm;

/**
 * Which headers of the tree each file can see through #include (transitively). Include paths
 * are resolved as the compiler would for quotes first (relative to the including file), then by
 * path suffix anywhere in the tree, since -I directories are unknown. Unresolvable includes
 * (system headers) are ignored.
 */
export function visibleHeadersByFile(files: readonly { file: string; text: string }[]): Map<string, Set<string>> {
  const headers = files.filter((f) => f.file.endsWith('.h')).map((f) => f.file);
  const byBase = new Map<string, string[]>();
  for (const h of headers) {
    const base = path.posix.basename(h);
    const list = byBase.get(base);
    if (list) list.push(h);
    else byBase.set(base, [h]);
  }
  const direct = new Map<string, string[]>();
  for (const f of files) {
    const dir = path.posix.dirname(f.file);
    const resolved: string[] = [];
    for (const m of f.text.matchAll(INCLUDE)) {
      const inc = m[1].trim();
      const candidates = byBase.get(path.posix.basename(inc));
      if (!candidates) continue;
      const relative = path.posix.normalize(path.posix.join(dir, inc));
      const exact = candidates.find((c) => c === relative);
      if (exact) { resolved.push(exact); continue; }
      const bySuffix = candidates.filter((c) => c === inc || c.endsWith('/' + inc));
      resolved.push(...bySuffix);
    }
    direct.set(f.file, resolved);
  }
  const memo = new Map<string, Set<string>>();
  const closure = (file: string): Set<string> => {
    const cached = memo.get(file);
    if (cached) return cached;
    const seen = new Set<string>();
    memo.set(file, seen);
    const stack = [...(direct.get(file) ?? [])];
    while (stack.length) {
      const h = stack.pop()!;
      if (seen.has(h)) continue;
      seen.add(h);
      for (const next of direct.get(h) ?? []) if (!seen.has(next)) stack.push(next);
    }
    return seen;
  };
  const out = new Map<string, Set<string>>();
  for (const f of files) out.set(f.file, closure(f.file));
  return out;
}
