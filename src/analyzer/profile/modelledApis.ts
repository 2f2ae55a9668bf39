import { redisModuleProfile } from './redisModule';

/**
 * Names of the thread, lock, wait and wake-up APIs the built-in profile models. Portable C often
 * redefines them as macros for builds without threads — git's `thread-utils.h` under
 * `NO_PTHREADS`: `#define pthread_mutex_lock(mutex)` (nothing), `#define pthread_create(…)
 * dummy_pthread_create(…)`; zstd's single-threaded `ZSTD_pthread_*` stubs call no API at all.
 * lockpath analyses the threaded build: a macro with one of these names is not expanded, and
 * the call stays the API call the profile knows (a debug wrapper that forwards to the API loses
 * nothing by that).
 */
export const MODELLED_API_NAMES: ReadonlySet<string> = new Set([
  ...redisModuleProfile.threadCreators.map((t) => t.api),
  ...redisModuleProfile.lockOps.map((o) => o.api),
  ...redisModuleProfile.locks.flatMap((l) => [...l.acquire, ...l.tryAcquire, ...l.release]),
  ...redisModuleProfile.waits.map((w) => w.api),
  ...redisModuleProfile.releases.map((r) => r.api),
]);
