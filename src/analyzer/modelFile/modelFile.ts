import type { EntryKind, LockApi, LockOpApi, LockOpKind, Profile } from '../profile/profile';
import type { FindingClass } from '../concurrency/types';
import { FINDING_CLASSES } from '../concurrency/types';
import type { Site } from '../graph';

/**
 * The `.lockpath` model file: project facts the analysis cannot infer. One directive per line,
 * `#` starts a comment, values with spaces are double-quoted:
 *
 *   entry       FUNCTION [KIND]                 runs on the main thread holding the entry locks (the GIL)
 *   thread-root FUNCTION                        starts a thread that holds no lock
 *   handoff     API arg=N                       the function pointer in argument N runs on another thread
 *   lock        NAME acquire=F[,F] release=F[,F] [try=F[,F]] [held-by-entries]
 *   blocking    FUNCTION [bounded]              calls to FUNCTION block until another thread acts
 *   gil-safe    API                             a host API that does not need the GIL
 *   noreturn    FUNCTION                        never returns (the process aborts or fails): calls on the way to it are not followed
 *   lock-op     FUNCTION acquire|try|release [arg=N] [mode=read|write]
 *                                               calls take/drop the lock object in argument N (a wrapper
 *                                               lockpath cannot see through, or a custom lock type)
 *   channel     send=F[,F] receive=F[,F] [arg=N] a blocking queue: send blocks while full, receive while empty
 *   release-callback FUNCTION                   runs later on the main thread (locks it releases stay held until then)
 *   allow       CLASS [entry=F] [wait=F] [call=F] reason="why this is safe"
 */

export interface ModelDiagnostic { line: number; col: number; severity: 'error' | 'warning'; message: string }

export interface AllowRule { class: FindingClass | '*'; entry?: string; wait?: string; call?: string; reason: string; site: Site }

/** A function name the model mentions, to check against the tree once it is analysed. */
export interface NameReference { name: string; line: number; col: number; role: string }

export interface ModelFile {
  file: string;
  profile: Partial<Profile>;
  allows: AllowRule[];
  references: NameReference[];
  diagnostics: ModelDiagnostic[];
}

interface Token { text: string; col: number }

const ENTRY_KINDS: readonly string[] = ['command', 'config-get', 'config-set', 'config-apply', 'server-event', 'keyspace-notification', 'timer', 'blocked-reply', 'blocked-timeout', 'blocked-free', 'module-load', 'command-filter', 'info', 'post-notification-job', 'event-loop', 'model', 'deferred-callback'];
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const DIRECTIVES = ['entry', 'thread-root', 'handoff', 'lock', 'lock-op', 'channel', 'release-callback', 'blocking', 'gil-safe', 'noreturn', 'allow'] as const;

function tokenize(line: string, lineNo: number, diags: ModelDiagnostic[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') break;
    const start = i;
    let text = '';
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '\r' && line[i] !== '#') {
      if (line[i] === '"') {
        const close = line.indexOf('"', i + 1);
        if (close < 0) {
          diags.push({ line: lineNo, col: i + 1, severity: 'error', message: 'unterminated string: a closing " is missing' });
          text += line.slice(i + 1);
          i = line.length;
          break;
        }
        text += line.slice(i + 1, close);
        i = close + 1;
      } else {
        text += line[i++];
      }
    }
    tokens.push({ text, col: start + 1 });
  }
  return tokens;
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseModelFile(text: string, file: string): ModelFile {
  const model: ModelFile = { file, profile: {}, allows: [], references: [], diagnostics: [] };
  const p = model.profile;
  const diags = model.diagnostics;
  if (text.includes('\u0000')) {
    diags.push({ line: 1, col: 1, severity: 'error', message: 'this is not a text file' });
    return model;
  }
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const tokens = tokenize(raw, lineNo, diags);
    if (!tokens.length) return;
    const [head, ...args] = tokens;
    const error = (t: Token | undefined, message: string) => diags.push({ line: lineNo, col: t?.col ?? raw.length + 1, severity: 'error', message });
    const positional = args.filter((a) => !a.text.includes('='));
    const options = new Map<string, Token>();
    for (const a of args) {
      if (!a.text.includes('=')) continue;
      const eq = a.text.indexOf('=');
      const key = a.text.slice(0, eq);
      if (options.has(key)) error(a, `'${key}' is given twice`);
      options.set(key, { text: a.text.slice(eq + 1), col: a.col + eq + 1 });
    }
    const fn = (t: Token | undefined, role: string): string | null => {
      if (!t) return null;
      if (!IDENT.test(t.text)) { error(t, `'${t.text}' is not a C identifier`); return null; }
      model.references.push({ name: t.text, line: lineNo, col: t.col, role });
      return t.text;
    };
    const allowedKeys = (keys: string[]) => {
      for (const [k, t] of options) if (!keys.includes(k)) error({ text: k, col: t.col - k.length - 1 }, `unknown option '${k}' for ${head.text} (expected ${keys.length ? keys.join(', ') : 'none'})`);
    };
    switch (head.text) {
      case 'entry': {
        allowedKeys([]);
        if (!positional[0]) { error(undefined, 'entry needs a function name'); break; }
        const name = fn(positional[0], 'entry');
        const kindTok = positional[1];
        if (kindTok && !ENTRY_KINDS.includes(kindTok.text)) error(kindTok, `unknown entry kind '${kindTok.text}' (expected one of ${ENTRY_KINDS.join(', ')})`);
        if (positional.length > 2) error(positional[2], 'entry takes a function name and an optional kind');
        if (name) (p.namedEntries ??= []).push({ name, kind: (kindTok && ENTRY_KINDS.includes(kindTok.text) ? kindTok.text : 'model') as EntryKind });
        break;
      }
      case 'thread-root': {
        allowedKeys([]);
        if (!positional[0]) { error(undefined, 'thread-root needs a function name'); break; }
        const name = fn(positional[0], 'thread-root');
        if (positional.length > 1) error(positional[1], 'thread-root takes one function name');
        if (name) (p.namedThreadRoots ??= []).push(name);
        break;
      }
      case 'handoff': {
        allowedKeys(['arg']);
        const api = positional[0] ? positional[0].text : null;
        if (!api || !IDENT.test(api)) { error(positional[0], 'handoff needs the API function that receives the callback'); break; }
        const arg = options.get('arg');
        const n = arg ? Number(arg.text) : NaN;
        if (!arg || !Number.isInteger(n) || n < 0) { error(arg ?? head, 'handoff needs arg=N, the 0-based position of the function pointer'); break; }
        (p.threadCreators ??= []).push({ api, startArg: n });
        break;
      }
      case 'lock': {
        allowedKeys(['acquire', 'release', 'try']);
        const name = positional[0];
        if (!name || !IDENT.test(name.text)) { error(name, 'lock needs a name'); break; }
        const flags = positional.slice(1);
        for (const f of flags) if (f.text !== 'held-by-entries') error(f, `unknown flag '${f.text}' (expected held-by-entries)`);
        const acquire = options.get('acquire');
        const release = options.get('release');
        if (!acquire) error(head, `lock ${name.text} needs acquire=FUNCTION`);
        if (!release) error(head, `lock ${name.text} needs release=FUNCTION`);
        if (!acquire || !release) break;
        const lock: LockApi = {
          lock: name.text,
          acquire: splitList(acquire.text),
          tryAcquire: splitList(options.get('try')?.text ?? ''),
          release: splitList(release.text),
          heldByEntries: flags.some((f) => f.text === 'held-by-entries'),
        };
        for (const [list, t] of [[lock.acquire, acquire], [lock.release, release]] as const) for (const n of list) fn({ text: n, col: t.col }, 'lock operation');
        (p.locks ??= []).push(lock);
        break;
      }
      case 'lock-op': {
        allowedKeys(['arg', 'mode']);
        const name = fn(positional[0], 'lock operation');
        if (!positional[0]) { error(undefined, 'lock-op needs a function name'); break; }
        const opTok = positional[1];
        if (!opTok || !['acquire', 'try', 'release'].includes(opTok.text)) { error(opTok, 'lock-op needs what the call does: acquire, try or release'); break; }
        if (positional.length > 2) error(positional[2], 'lock-op takes a function name and acquire, try or release');
        const argTok = options.get('arg');
        const arg = argTok ? Number(argTok.text) : 0;
        if (argTok && (!Number.isInteger(arg) || arg < 0)) { error(argTok, 'arg=N is the 0-based position of the lock argument'); break; }
        const modeTok = options.get('mode');
        if (modeTok && !['read', 'write'].includes(modeTok.text)) { error(modeTok, `unknown mode '${modeTok.text}' (expected read or write)`); break; }
        if (name) (p.lockOps ??= []).push({ api: name, op: opTok.text as LockOpKind, mode: (modeTok?.text ?? 'exclusive') as LockOpApi['mode'], objectArg: arg });
        break;
      }
      case 'channel': {
        allowedKeys(['send', 'receive', 'arg']);
        const send = options.get('send');
        const receive = options.get('receive');
        if (!send || !receive) { error(head, 'channel needs send=FUNCTION and receive=FUNCTION (the blocking push and pop)'); break; }
        if (positional.length) error(positional[0], 'channel takes only send=, receive= and arg=');
        const argTok = options.get('arg');
        const arg = argTok ? Number(argTok.text) : 0;
        if (argTok && (!Number.isInteger(arg) || arg < 0)) { error(argTok, 'arg=N is the 0-based position of the queue argument'); break; }
        const sends = splitList(send.text).filter((n) => fn({ text: n, col: send.col }, 'channel send'));
        const receives = splitList(receive.text).filter((n) => fn({ text: n, col: receive.col }, 'channel receive'));
        p.waits ??= [];
        p.releases ??= [];
        for (const api of sends) { p.waits.push({ api, kind: 'channel-send', objectArg: arg, bounded: false }); p.releases.push({ api, kind: 'channel-receive', objectArg: arg }); }
        for (const api of receives) { p.waits.push({ api, kind: 'channel-receive', objectArg: arg, bounded: false }); p.releases.push({ api, kind: 'channel-send', objectArg: arg }); }
        break;
      }
      case 'release-callback': {
        allowedKeys([]);
        if (!positional[0]) { error(undefined, 'release-callback needs a function name'); break; }
        const name = fn(positional[0], 'release-callback');
        if (positional.length > 1) error(positional[1], 'release-callback takes one function name');
        if (name) (p.namedEntries ??= []).push({ name, kind: 'deferred-callback' });
        break;
      }
      case 'blocking': {
        allowedKeys([]);
        const name = fn(positional[0], 'blocking');
        if (!positional[0]) { error(undefined, 'blocking needs a function name'); break; }
        const flags = positional.slice(1);
        for (const f of flags) if (f.text !== 'bounded') error(f, `unknown flag '${f.text}' (expected bounded)`);
        if (name) (p.waits ??= []).push({ api: name, kind: 'model', objectArg: 0, bounded: flags.some((f) => f.text === 'bounded') });
        break;
      }
      case 'noreturn': {
        allowedKeys([]);
        if (!positional[0]) { error(undefined, 'noreturn needs a function name'); break; }
        const name = fn(positional[0], 'noreturn');
        if (positional.length > 1) error(positional[1], 'noreturn takes one function name');
        if (name) (p.noReturn ??= []).push(name);
        break;
      }
      case 'gil-safe': {
        allowedKeys([]);
        if (!positional[0] || !IDENT.test(positional[0].text)) { error(positional[0], 'gil-safe needs an API name'); break; }
        (p.locks ??= []).push({ lock: 'GIL', acquire: [], tryAcquire: [], release: [], heldByEntries: false, requiredBy: { prefixes: [], safe: [positional[0].text] } });
        break;
      }
      case 'allow': {
        allowedKeys(['entry', 'wait', 'call', 'reason']);
        const cls = positional[0];
        if (!cls || !([...FINDING_CLASSES, '*'] as string[]).includes(cls.text)) {
          error(cls, `allow needs a finding class: ${FINDING_CLASSES.join(', ')} or *`);
          break;
        }
        const reason = options.get('reason');
        if (!reason || !reason.text.trim()) { error(head, 'allow needs reason="…": a suppression must say why the code is safe'); break; }
        const rule: AllowRule = { class: cls.text as FindingClass | '*', reason: reason.text, site: { file, line: lineNo, col: head.col } };
        for (const key of ['entry', 'wait', 'call'] as const) {
          const t = options.get(key);
          if (t && fn(t, `allow ${key}`)) rule[key] = t.text;
        }
        if (!rule.entry && !rule.wait && !rule.call) { error(head, 'allow needs at least one of entry=, wait= or call= so it cannot silence everything'); break; }
        model.allows.push(rule);
        break;
      }
      default:
        error(head, `unknown directive '${head.text}' (expected ${DIRECTIVES.join(', ')})`);
    }
  });
  return model;
}

/** Warnings for names the model mentions that the tree does not know. */
export function checkModelNames(model: ModelFile, known: ReadonlySet<string>, suggest: (name: string) => string): ModelDiagnostic[] {
  return model.references
    .filter((r) => !known.has(r.name))
    .map((r) => ({ line: r.line, col: r.col, severity: 'warning' as const, message: `unknown function '${r.name}' (${r.role})${suggest(r.name)}` }));
}

export function formatDiagnostic(file: string, d: ModelDiagnostic): string {
  return `${file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`;
}
