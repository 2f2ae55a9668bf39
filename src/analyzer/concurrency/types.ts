// The findings contract (documented in the README; consumed by SARIF, the server and the webview).
import type { Edge, EntryKind, Site } from '../graph';
import type { WaitKind } from '../profile/profile';

export type FindingClass = 'deadlock-risk' | 'lock-order' | 'stall' | 'bounded' | 'gil-required-api';
export const FINDING_CLASSES: readonly FindingClass[] = ['deadlock-risk', 'lock-order', 'stall', 'bounded', 'gil-required-api'];

export type LockMode = 'exclusive' | 'read' | 'write';

/** One thread's side of a lock-order cycle: it holds `holds` and then takes `acquires`. */
export interface ThreadTrace {
  /** `entries` (the main thread, entry points) or a thread root's function id. */
  context: string;
  entry: FindingEntry;
  /** From the entry (or thread root) to the function that takes `acquires`. */
  path: PathHop[];
  holds: { lock: string; mode: LockMode; function: string; site: Site };
  acquires: { lock: string; mode: LockMode; function: string; site: Site };
}

/** A lock held by a thread until a callback that only the (blocked) main thread runs releases it. */
export interface DeferredRelease {
  lock: string;
  /** How the analysis names the lock: a global, a field of a struct type, …. */
  identity: string;
  heldBy: { threadRoot: string; function: string; site: Site; mode: LockMode; path: PathHop[] };
  releasedIn: { function: string; site: Site; entryKind: string; registeredAt?: Site };
}

/** Whether the lock is held at a point: on every path, on some, or on none. */
export type HeldState = 'held' | 'may-be-held' | 'not-held';

export interface PathHop extends Edge {
  /** The lock state at this call site, in the context of the finding. */
  lockState?: HeldState;
}

export interface FindingEntry {
  function: string;
  /** `thread-root` when the context is a thread that took the lock itself. */
  kind: EntryKind | 'thread-root';
  api: string;
  site: Site;
  name?: string;
}

export interface WaitInfo {
  function: string;
  site: Site;
  kind: WaitKind;
  /** The expression waited on: a spin loop's condition, or the wait call. */
  expression: string;
  bounded: boolean;
  yielding: boolean;
  /** Why this is a wait, and why bounded or not. */
  evidence: string;
}

export interface AwaitedThread {
  /** The thread's root function; for Redis' main thread (`mainThread`), the entry point that releases. */
  threadRoot: string;
  /** Redis' main thread, which runs the entry point `threadRoot` only holding the GIL (`takesLock` says where it is registered). */
  mainThread?: true;
  /** What releases the wait, and where. */
  releaser: { function: string; site: Site; action: string };
  pathToReleaser: PathHop[];
  /** Where the thread can take the lock the waiter holds (null: it never does). */
  takesLock: {
    function: string; site: Site; path: PathHop[]; poolCaveat?: PoolCaveat;
    /** Set when the thread spins on a try-lock (`site`) in the loop at `loop` until it gets the lock. */
    tryLock?: { loop: Site; why: string };
  } | null;
  /**
   * Set (with takesLock null) when the thread only tries the lock, in a way that gives up while it
   * is held (`why`): it does not block on it.
   */
  triesLock?: { function: string; site: Site; path: PathHop[]; why: string };
  /**
   * Set (with takesLock null) when the thread takes the lock only in jobs of other pools, which
   * cannot be handed the waited-on pool's object. `waitedPoolReaches`: every place that object's
   * value may be copied to (`p in pool_submit`, `field pool of struct ctx`), the ground of that.
   */
  lockInOtherPools?: PoolCaveat & { function: string; site: Site; path: PathHop[]; waitedPoolReaches: string[] };
}

/**
 * Set when the waiting path works on named pools none of whose jobs takes the lock, and the
 * evidence goes through a job handed elsewhere (`pools`: where; empty: to a pool lockpath cannot
 * name). The pools may share the thread function the awaited thread runs: if the waited-on pool's
 * threads never run `job`, the finding is a stall. See test/fixtures/findings/FP_pool_handle_ids.
 */
export interface PoolCaveat {
  job: string;
  pools: string[];
  waitedPools: string[];
}

export interface SequencedAfter {
  function: string;
  site: Site;
  text: string;
  macro?: string;
  /** Functions this call would reach (synchronously or by hand-off), none of which run while the wait blocks. */
  reaches: string[];
}

export interface Finding {
  /** Stable across line moves: derived from names and expressions, not line numbers. */
  id: string;
  class: FindingClass;
  lock: string;
  message: string;
  yielding: boolean;
  entry: FindingEntry;
  /** From the entry to the function holding the wait (or the offending call). */
  path: PathHop[];
  /** Other functions called through a pointer (e.g. other config setters) by which the entry also reaches the wait. */
  alsoThrough?: string[];
  wait?: WaitInfo;
  /** For gil-required-api: the call made without the lock. */
  call?: { function: string; site: Site; api: string };
  awaited: AwaitedThread[];
  sequencedAfter: SequencedAfter[];
  /** lock-order: one trace per thread, each holding one lock of the cycle and taking the next. */
  threads?: ThreadTrace[];
  /** deadlock-risk on a lock whose only release runs on the main thread. */
  deferredRelease?: DeferredRelease;
  /** Present when a model-file `allow` rule matched: the finding is shown but not reported as a problem. */
  suppressed?: { reason: string; rule: Site };
}

/** Per-function summary: the waits a call to this function may block in (its own, or its callees'). */
export interface BlockingSummary {
  function: string;
  /** Waits in this function's body. */
  own: { site: Site; kind: string; expression: string; bounded: boolean }[];
  /** Waits reached synchronously through callees, with the first callee on the way. */
  viaCallees: { wait: string; site: Site; through: string }[];
}

/** What the lock analysis worked with, so users can tell what it saw (and what it did not). */
export interface LocksSummary {
  /** Distinct locks operated on (global locks and per-object locks), by display name, with how each is named. */
  locks: { lock: string; identity: string; operations: number }[];
  /** Acquire and release wrappers discovered from their bodies. */
  wrappers: { function: string; lock: string; role: 'acquire' | 'release'; mode?: LockMode }[];
  /** "B taken while A held" facts, summed over call sites. */
  orderEdges: number;
  /** Set when the lock-cycle search hit its budget: cycles may be missing (never silently). */
  cycleSearchTruncated?: boolean;
  /** Time spent on the lock model, the lock-order search and deferred releases (part of concurrencyMs). */
  ms: number;
}

export interface FindingsSummary {
  counts: Record<FindingClass, number>;
  locks: LocksSummary;
  suppressed: number;
  waits: number;
  contexts: number;
  /** Calls on the way to a process exit (a crash report) that the analysis did not follow, and the functions found never to return. */
  deadEnds: { calls: number; noReturnFunctions: number };
  concurrencyMs: number;
}

/** Where a finding is reported: the wait, the offending call, or the first thread's second lock. */
export function findingSite(f: Finding): Site {
  return f.wait?.site ?? f.call?.site ?? f.threads![0].acquires.site;
}
