// A finding as threads side by side over time: one lane per thread, each the path that thread
// runs, with where a lock is held, where it waits, and what it waits for. Pure data (no DOM), so
// the webview draws it and tests check it without a browser.
import type { Edge, EdgeKind, Site } from '../analyzer/graph';
import type { AwaitedThread, FindingEntry, HeldState, PathHop, SequencedAfter, ThreadTrace, WaitInfo } from '../analyzer/concurrency/types';

export type { LockMode, ThreadTrace } from '../analyzer/concurrency/types';

/**
 * The parts of a finding the lanes use: a `lock-order` finding carries `threads` instead of a
 * wait, so every part but the path and entry is optional.
 */
export interface LaneFinding {
  id: string;
  class: string;
  lock: string;
  message: string;
  entry: FindingEntry;
  path: PathHop[];
  wait?: WaitInfo;
  call?: { function: string; site: Site; api: string };
  awaited?: AwaitedThread[];
  sequencedAfter?: SequencedAfter[];
  threads?: ThreadTrace[];
}

export type LaneMark = 'entry' | 'thread-root' | 'wait' | 'call' | 'releaser' | 'takes-lock' | 'holds' | 'acquires' | 'never';

export interface LaneNode {
  /** Unique in the model. */
  key: string;
  function: string;
  label: string;
  /** Position in the lane: column (time order along the path) and row (0: the path; more: branches). */
  col: number;
  row: number;
  marks: LaneMark[];
  /** Short words under the name: what happens there (the wait's expression, the lock taken…). */
  note?: string;
  /** Where to go on click: the mark's site when there is one (the wait, the lock call), else none. */
  site?: Site;
  /** Drawn greyed: never runs while the wait blocks. */
  never?: boolean;
  /** Set when a hand-off on the way moved the call to another thread than the lane's: that thread root's id. */
  context?: string;
}

export interface LaneLink {
  from: string;
  to: string;
  kind: EdgeKind | 'sequenced';
  label: string;
  site: Site;
  lockState?: HeldState;
  never?: boolean;
}

export interface Lane {
  id: string;
  title: string;
  /** `entries` (main thread) or the thread root's function id: the lane's colour. */
  context: string;
  /** `after`: the holder's thread once the wait would return: what never runs while it blocks. */
  role: 'holder' | 'awaited' | 'thread' | 'after';
  nodes: LaneNode[];
  links: LaneLink[];
  /** Columns of row 0 during which the lock is held (drawn as a band). */
  lockSpans: { lock: string; from: number; to: number; state: HeldState }[];
  /** Said under the title (e.g. that the thread never takes the lock). */
  note?: string;
}

/** Between lanes: one thread waiting for another (`waits`), or a call made after the wait (`sequenced`). */
export interface CrossLink { from: string; to: string; label: string; kind?: 'waits' | 'sequenced' }

export interface LaneModel { title: string; lanes: Lane[]; cross: CrossLink[]; note?: string }

export interface LaneOptions {
  /**
   * Call-graph edges around the calls sequenced after the wait: with them the functions a
   * sequenced call reaches are drawn as the tree they form; without, as a list.
   */
  edges?: Edge[];
  /** At most this many greyed functions per sequenced call (default 40). */
  maxNever?: number;
}

export function shortName(id: string): string {
  const at = id.indexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}

export function hopLabel(e: Pick<Edge, 'kind' | 'macro' | 'via' | 'threadRoot' | 'entryKind'>): string {
  if (e.kind === 'handoff') return `⇢ thread ${shortName(e.threadRoot ?? '')}`;
  if (e.kind === 'macro') return e.macro ?? '';
  if (e.kind === 'indirect') return e.macro ? `${e.macro}: ${e.via ?? ''}` : e.via ?? '';
  if (e.kind === 'registration') return e.entryKind ?? '';
  return '';
}

function clip(s: string, n = 48): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

class LaneBuilder {
  readonly lane: Lane;
  constructor(id: string, title: string, context: string, role: Lane['role']) {
    this.lane = { id, title, context, role, nodes: [], links: [], lockSpans: [] };
  }

  node(fn: string, col: number, row: number, extra: Partial<LaneNode> = {}, key = `${this.lane.id}:${row}:${col}:${fn}`): LaneNode {
    const existing = this.lane.nodes.find((n) => n.key === key);
    if (existing) return existing;
    const n: LaneNode = { key, function: fn, label: shortName(fn), col, row, marks: [], ...extra };
    this.lane.nodes.push(n);
    return n;
  }

  link(from: LaneNode, to: LaneNode, hop: Pick<PathHop, 'kind' | 'site' | 'macro' | 'via' | 'threadRoot' | 'entryKind' | 'lockState'>, never = false): void {
    this.lane.links.push({ from: from.key, to: to.key, kind: hop.kind, label: hopLabel(hop), site: hop.site, ...(hop.lockState ? { lockState: hop.lockState } : {}), ...(never ? { never } : {}) });
  }

  /** Draws `hops` from `start` along row `row`, reusing nodes already on row 0 while the two paths agree. */
  path(start: LaneNode, hops: PathHop[], row: number, shareWith?: PathHop[]): LaneNode[] {
    const out = [start];
    let prev = start;
    let shared = true;
    let context = start.context;
    hops.forEach((h, i) => {
      shared = shared && !!shareWith && shareWith[i]?.to === h.to;
      if (h.kind === 'handoff') context = h.threadRoot ?? h.to;
      const n = shared ? this.node(h.to, i + 1, 0) : this.node(h.to, i + 1, row, context && context !== this.lane.context ? { context } : {});
      if (!shared || !this.lane.links.some((l) => l.from === prev.key && l.to === n.key)) this.link(prev, n, h);
      out.push(n);
      prev = n;
    });
    return out;
  }
}

function mark(n: LaneNode, m: LaneMark, note?: string, site?: Site): void {
  if (!n.marks.includes(m)) n.marks.push(m);
  if (note) n.note = n.note ? `${n.note}; ${note}` : note;
  if (site && !n.site) n.site = site;
}

function entryTitle(e: FindingEntry): string {
  return e.kind === 'thread-root' ? `thread ${shortName(e.function)}` : `main thread: ${shortName(e.function)} (${e.kind}${e.name ? ` ${e.name}` : ''})`;
}

/** Spans of consecutive path columns at which the lock is held or may be held. */
function spansOf(lock: string, hops: PathHop[], lastCol: number): Lane['lockSpans'] {
  const spans: Lane['lockSpans'] = [];
  hops.forEach((h, i) => {
    const state = h.lockState;
    if (!state || state === 'not-held') return;
    const last = spans.at(-1);
    if (last && last.to === i && last.state === state) last.to = i + 1;
    else spans.push({ lock, from: i, to: i + 1, state });
  });
  // The state at the last call holds in the callee too, down to the wait.
  const last = spans.at(-1);
  if (last) last.to = Math.min(Math.max(last.to, hops.length), lastCol);
  return spans;
}

/**
 * The calls after the wait, and what they reach: greyed, in a lane of their own below the threads
 * (the holder's thread, once the wait returns), each starting right of the function that makes it.
 */
function addNever(b: LaneBuilder, seq: SequencedAfter[], path: LaneNode[], opts: LaneOptions, cross: CrossLink[]): void {
  const max = opts.maxNever ?? 40;
  let row = 0;
  seq.forEach((s, si) => {
    const caller = path.find((n) => n.function === s.function) ?? path[0];
    const firstCol = caller.col + 1;
    const call = b.node(s.macro ?? s.text, firstCol, row, { label: clip(s.macro ?? s.text, 40), marks: ['never'], never: true, note: `${s.macro ? `${clip(s.text, 40)} ` : ''}in ${shortName(s.function)}`, site: s.site }, `${b.lane.id}:never:${si}:call`);
    cross.push({ from: caller.key, to: call.key, label: si ? '' : 'after the wait', kind: 'sequenced' });
    const reach = new Set(s.reaches);
    const depth = new Map<string, number>();
    const parent = new Map<string, Edge>();
    // The sequenced call's own targets: edges out of its function at its site.
    const first = (opts.edges ?? []).filter((e) => e.from === s.function && e.site.file === s.site.file && e.site.line === s.site.line && reach.has(e.to));
    const queue: string[] = [];
    for (const e of first) if (!depth.has(e.to)) { depth.set(e.to, 1); parent.set(e.to, e); queue.push(e.to); }
    for (let i = 0; i < queue.length; i++) {
      const from = queue[i];
      for (const e of opts.edges ?? []) {
        if (e.from !== from || !reach.has(e.to) || depth.has(e.to)) continue;
        depth.set(e.to, depth.get(from)! + 1);
        parent.set(e.to, e);
        queue.push(e.to);
      }
    }
    // Functions the edges do not connect still never run: listed after the tree, in the analyzer's order.
    const maxDepth = Math.max(0, ...depth.values());
    const order = [...queue, ...s.reaches.filter((f) => !depth.has(f))].slice(0, max);
    const rowsAt = new Map<number, number>();
    const nodes = new Map<string, LaneNode>();
    for (const fn of order) {
      const d = depth.get(fn) ?? maxDepth + 1;
      const r = rowsAt.get(d) ?? 0;
      rowsAt.set(d, r + 1);
      nodes.set(fn, b.node(fn, firstCol + d, row + r, { marks: ['never'], never: true }, `${b.lane.id}:never:${si}:${fn}`));
    }
    for (const fn of order) {
      const e = parent.get(fn);
      const from = e && (e.from === s.function ? call : nodes.get(e.from));
      const node = nodes.get(fn)!;
      if (e && from) {
        b.link(from, node, e, true);
        // Parents come first in `order`: a hand-off moves this call and what it reaches to its thread.
        const context = e.kind === 'handoff' ? e.threadRoot ?? e.to : from.context;
        if (context && context !== b.lane.context) node.context = context;
      } else if (!e) b.link(call, node, { kind: 'direct', site: s.site }, true);
    }
    const cut = s.reaches.length - order.length;
    if (cut > 0) call.note = `${call.note}; +${cut} more not shown`;
    row += Math.max(1, ...rowsAt.values());
  });
}

/** The lanes of a finding: the lock holder's, each awaited thread's, or each thread of a lock-order cycle. */
export function buildLanes(f: LaneFinding, opts: LaneOptions = {}): LaneModel {
  const lanes: Lane[] = [];
  const cross: CrossLink[] = [];
  if (f.threads?.length) {
    const holders = new Map<string, LaneNode>();
    const acquirers: { lane: number; node: LaneNode; lock: string }[] = [];
    f.threads.forEach((t, i) => {
      const b = new LaneBuilder(`t${i}`, entryTitle(t.entry), t.context, 'thread');
      const start = b.node(t.entry.function, 0, 0);
      mark(start, t.entry.kind === 'thread-root' ? 'thread-root' : 'entry', t.entry.kind === 'thread-root' ? undefined : t.entry.kind);
      const nodes = b.path(start, t.path, 0);
      const holdsAt = nodes.find((n) => n.function === t.holds.function) ?? start;
      const acquiresAt = [...nodes].reverse().find((n) => n.function === t.acquires.function) ?? nodes.at(-1)!;
      mark(holdsAt, 'holds', `holds ${t.holds.lock} (${t.holds.mode})`, t.holds.site);
      mark(acquiresAt, 'acquires', `takes ${t.acquires.lock} (${t.acquires.mode})`, t.acquires.site);
      b.lane.lockSpans.push({ lock: t.holds.lock, from: holdsAt.col, to: acquiresAt.col, state: 'held' });
      holders.set(`${i}:${t.holds.lock}`, holdsAt);
      acquirers.push({ lane: i, node: acquiresAt, lock: t.acquires.lock });
      lanes.push(b.lane);
    });
    // Each thread waits at its acquisition for the thread that holds that lock.
    for (const a of acquirers) {
      f.threads.forEach((_, j) => {
        const h = holders.get(`${j}:${a.lock}`);
        if (j !== a.lane && h) cross.push({ from: a.node.key, to: h.key, label: `waits for ${a.lock}`, kind: 'waits' });
      });
    }
    return { title: `${f.class}: ${f.threads.map((t) => shortName(t.entry.function)).join(' ⟷ ')}`, lanes, cross };
  }

  const holder = new LaneBuilder('holder', entryTitle(f.entry), f.entry.kind === 'thread-root' ? f.entry.function : 'entries', 'holder');
  const start = holder.node(f.entry.function, 0, 0);
  mark(start, f.entry.kind === 'thread-root' ? 'thread-root' : 'entry', f.entry.kind === 'thread-root' ? undefined : f.entry.kind);
  const path = holder.path(start, f.path, 0);
  const last = path.at(-1)!;
  holder.lane.lockSpans = spansOf(f.lock, f.path, last.col);
  if (f.wait) mark(last, 'wait', `${f.wait.bounded ? 'bounded' : 'unbounded'} ${f.wait.kind}: ${clip(f.wait.expression)}`, f.wait.site);
  if (f.call) mark(last, 'call', `calls ${f.call.api} without ${f.lock}`, f.call.site);
  lanes.push(holder.lane);

  (f.awaited ?? []).forEach((a, i) => {
    const b = new LaneBuilder(`awaited${i}`, a.mainThread ? `Redis main thread` : `thread ${shortName(a.threadRoot)}`, a.threadRoot, 'awaited');
    const root = b.node(a.threadRoot, 0, 0);
    mark(root, a.mainThread ? 'entry' : 'thread-root');
    const toReleaser = b.path(root, a.pathToReleaser, 0);
    const releaser = [...toReleaser].reverse().find((n) => n.function === a.releaser.function) ?? toReleaser.at(-1)!;
    mark(releaser, 'releaser', `releases the wait: ${clip(a.releaser.action, 36)}`, a.releaser.site);
    if (last.marks.includes('wait')) cross.push({ from: last.key, to: releaser.key, label: 'waits for', kind: 'waits' });
    if (a.mainThread) {
      // Redis holds the GIL around every entry point it runs: it cannot start while lane 1 holds it.
      b.lane.note = `runs ${shortName(a.threadRoot)} only holding ${f.lock}`;
      cross.push({ from: root.key, to: start.key, label: `needs ${f.lock}, held by ${shortName(f.entry.function)}`, kind: 'waits' });
    } else if (a.takesLock) {
      const toLock = b.path(root, a.takesLock.path, 1, a.pathToReleaser);
      const taker = [...toLock].reverse().find((n) => n.function === a.takesLock!.function) ?? toLock.at(-1)!;
      mark(taker, 'takes-lock', a.takesLock.tryLock ? `spins on a try-lock of ${f.lock} first` : `takes ${f.lock} first`, a.takesLock.site);
      const c = a.takesLock.poolCaveat;
      // The evidence may not apply to the waited-on pool's threads: say so where the lane is read.
      if (c) b.lane.note = `only through ${shortName(c.job)} (${c.pools.length ? `queued to ${c.pools.join(', ')}` : 'pool unknown'}); no job of ${c.waitedPools.join(', ')} takes ${f.lock}: a stall if its threads never run it`;
      // Blocks there: the lock is held by the lane-1 thread until its wait returns.
      cross.push({ from: taker.key, to: start.key, label: `needs ${f.lock}, held by ${shortName(f.entry.function)}`, kind: 'waits' });
    } else if (a.lockInOtherPools) {
      const o = a.lockInOtherPools;
      b.lane.note = `never takes ${f.lock} here: ${shortName(o.job)}, which does, is queued to ${o.pools.join(', ')}, not ${o.waitedPools.join(', ')}`;
    } else if (a.triesLock) {
      b.lane.note = `never blocks on ${f.lock}: only tries it in ${shortName(a.triesLock.function)} (${a.triesLock.why})`;
    } else {
      b.lane.note = `never takes ${f.lock}`;
    }
    lanes.push(b.lane);
  });
  if (f.sequencedAfter?.length) {
    const after = new LaneBuilder('after', `${shortName(f.entry.function)} after the wait returns: never reached while it blocks`, holder.lane.context, 'after');
    addNever(after, f.sequencedAfter, path, opts, cross);
    lanes.push(after.lane);
  }
  const target = f.wait?.function ?? f.call?.function ?? last.function;
  return { title: `${f.class}: ${shortName(f.entry.function)} → ${shortName(target)}`, lanes, cross };
}
