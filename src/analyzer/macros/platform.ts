// lockpath analyses a POSIX build. These say which preprocessor conditions only a Windows build
// takes, for the macro scan (definitions.ts) and for `#if` arms inside function bodies.

/** Macros only a Windows build defines. */
export const WINDOWS_MACROS: ReadonlySet<string> = new Set(['_WIN32', '_WIN64', 'WIN32', 'WIN64', '_WINDOWS', '__WINDOWS__', '__MINGW32__', '__MINGW64__', '_MSC_VER']);

/** `defined(_WIN32)`, `_WIN32 && X`, `defined _MSC_VER && …`: a conjunction with a Windows macro in it (no `||`). */
export function requiresWindows(condition: string): boolean {
  if (condition.includes('||')) return false;
  return condition.split('&&').some((term) => {
    const m = /^\(*\s*(?:defined\s*\(?\s*)?([A-Za-z_]\w*)\s*\)*\s*$/.exec(term.trim());
    return !!m && WINDOWS_MACROS.has(m[1]);
  });
}

/** `!defined(_WIN32)` alone: its `#else` is Windows-only. */
export function excludesWindows(condition: string): boolean {
  const m = /^!\s*(?:defined\s*\(?\s*)?([A-Za-z_]\w*)\s*\)?$/.exec(condition.trim());
  return !!m && WINDOWS_MACROS.has(m[1]);
}
