// A profile is data: which API calls register entry points, start threads, dispatch callbacks
// or take locks. The built-in `redis-module` profile lives in redisModule.ts; the `.lockpath`
// model file adds to it. Keeping this as tables keeps the analysis free of API names.

export type EntryKind =
  | 'command' | 'config-get' | 'config-set' | 'config-apply' | 'server-event' | 'keyspace-notification'
  | 'timer' | 'blocked-reply' | 'blocked-timeout' | 'blocked-free' | 'module-load' | 'command-filter'
  | 'info' | 'post-notification-job' | 'event-loop' | 'main' | 'model' | 'deferred-callback';

export interface RegistrationApi {
  api: string;
  /** Argument positions (0-based) holding callbacks, with the kind of entry each becomes. */
  callbacks: { arg: number; kind: EntryKind }[];
  /** The argument that names the registered thing (a command or config name), if any. */
  nameArg?: number;
}

export interface ThreadCreatorApi { api: string; startArg: number }

/** An API that runs, on the calling thread, callbacks registered elsewhere through `registrars` (an event loop). */
export interface DispatcherApi { api: string; registrars: { api: string; arg: number }[] }

/** A global lock and the calls that take and drop it. */
export interface LockApi {
  lock: string;
  acquire: string[];
  /** Calls that take the lock only on success: afterwards it may be held. */
  tryAcquire: string[];
  release: string[];
  /** Entry points (registered callbacks) start holding this lock. */
  heldByEntries: boolean;
  /** Calls that need this lock held (all calls with these prefixes except `safe`). */
  requiredBy?: { prefixes: string[]; safe: string[] };
}

export type WaitKind = 'condvar' | 'barrier' | 'join' | 'semaphore' | 'spin' | 'model' | 'lock' | 'channel-send' | 'channel-receive';

export type LockOpKind = 'acquire' | 'try' | 'release';

/**
 * A call that takes or drops the lock object in `objectArg` (a mutex, an rwlock side, a spin
 * lock). Lock identity comes from that argument: a global, a field of a struct type, or a
 * parameter of the calling function (then the caller's argument decides).
 */
export interface LockOpApi {
  api: string;
  op: LockOpKind;
  mode: 'exclusive' | 'read' | 'write';
  objectArg: number;
  /** Semaphores are locks only where one function both waits and posts them. */
  balancedOnly?: boolean;
}

/** A call that blocks until another thread acts on the object in `objectArg`. */
export interface WaitApi { api: string; kind: WaitKind; objectArg: number; bounded: boolean }

/** A call that releases waiters of `kind` on the object in `objectArg`. */
export interface ReleaseApi { api: string; kind: WaitKind; objectArg: number }

export interface Profile {
  name: string;
  registrations: RegistrationApi[];
  /** Functions that are entry points by name (e.g. `RedisModule_OnLoad`). */
  namedEntries: { name: string; kind: EntryKind }[];
  threadCreators: ThreadCreatorApi[];
  /** Functions that are thread roots by name (from the model file). */
  namedThreadRoots: string[];
  dispatchers: DispatcherApi[];
  /** Global function pointers with these prefixes are APIs the host fills at load time. */
  apiPointerPrefixes: string[];
  locks: LockApi[];
  /** Per-object lock operations (mutexes, rwlocks, spin locks, model-declared wrappers). */
  lockOps: LockOpApi[];
  waits: WaitApi[];
  releases: ReleaseApi[];
  /** Calls a spin-wait's body may make while it waits: sleeps, pauses, yields. */
  sleeps: string[];
  /** Calls that keep the server answering while the caller waits (they do not release the lock). */
  yields: string[];
  /** Clock reads: a loop condition that calls one has a deadline. */
  clocks: string[];
  /**
   * Functions that never return: the process exits or aborts (`abort`, `exit`, an assertion's
   * failure handler). Calls made on the way to one (a crash report) are not followed by the
   * concurrency analysis; defined functions that always end in one are found from their bodies.
   */
  noReturn: string[];
  /**
   * Process exits that take the exit status as their first argument (`exit`, `_exit`): a failure
   * status (a non-zero number, `EXIT_FAILURE`) makes them `noReturn`; `exit(0)` or a computed
   * status may be a normal shutdown, whose joins and waits still count.
   */
  exits: string[];
  /**
   * Calls that make a channel (fd, queue) non-blocking, with the argument holding it, and the
   * flag words that mean it (`fcntl(fd, F_SETFL, O_NONBLOCK)`, `send(…, MSG_DONTWAIT)`).
   */
  nonBlocking: { setters: { api: string; objectArg: number }[]; flags: string[] };
  /** Entry kinds that run later on the main thread (deferred callbacks): a lock they release stays held until then. */
  deferredEntryKinds: EntryKind[];
}

export function mergeProfiles(base: Profile, extra: Partial<Profile>): Profile {
  return {
    name: extra.name ?? base.name,
    registrations: [...base.registrations, ...(extra.registrations ?? [])],
    namedEntries: [...base.namedEntries, ...(extra.namedEntries ?? [])],
    threadCreators: [...base.threadCreators, ...(extra.threadCreators ?? [])],
    namedThreadRoots: [...base.namedThreadRoots, ...(extra.namedThreadRoots ?? [])],
    dispatchers: [...base.dispatchers, ...(extra.dispatchers ?? [])],
    apiPointerPrefixes: [...base.apiPointerPrefixes, ...(extra.apiPointerPrefixes ?? [])],
    locks: mergeLocks(base.locks, extra.locks ?? []),
    lockOps: [...base.lockOps, ...(extra.lockOps ?? [])],
    waits: [...base.waits, ...(extra.waits ?? [])],
    releases: [...base.releases, ...(extra.releases ?? [])],
    sleeps: [...base.sleeps, ...(extra.sleeps ?? [])],
    yields: [...base.yields, ...(extra.yields ?? [])],
    clocks: [...base.clocks, ...(extra.clocks ?? [])],
    noReturn: [...base.noReturn, ...(extra.noReturn ?? [])],
    exits: [...base.exits, ...(extra.exits ?? [])],
    nonBlocking: {
      setters: [...base.nonBlocking.setters, ...(extra.nonBlocking?.setters ?? [])],
      flags: [...base.nonBlocking.flags, ...(extra.nonBlocking?.flags ?? [])],
    },
    deferredEntryKinds: [...base.deferredEntryKinds, ...(extra.deferredEntryKinds ?? [])],
  };
}

function mergeLocks(base: LockApi[], extra: LockApi[]): LockApi[] {
  const out = base.map((l) => ({ ...l, acquire: [...l.acquire], tryAcquire: [...l.tryAcquire], release: [...l.release], ...(l.requiredBy ? { requiredBy: { prefixes: [...l.requiredBy.prefixes], safe: [...l.requiredBy.safe] } } : {}) }));
  for (const e of extra) {
    const same = out.find((l) => l.lock === e.lock);
    if (!same) { out.push(e); continue; }
    same.acquire.push(...e.acquire);
    same.tryAcquire.push(...e.tryAcquire);
    same.release.push(...e.release);
    same.heldByEntries ||= e.heldByEntries;
    if (e.requiredBy) {
      same.requiredBy ??= { prefixes: [], safe: [] };
      same.requiredBy.prefixes.push(...e.requiredBy.prefixes);
      same.requiredBy.safe.push(...e.requiredBy.safe);
    }
  }
  return out;
}
