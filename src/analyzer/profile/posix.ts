import type { LockApi, LockOpApi, ReleaseApi, WaitApi } from './profile';

// POSIX, libuv and C11 building blocks every C tree may use, whatever host it runs in. The
// Redis-module profile includes them; they are data so the analysis stays free of API names.

const exclusive = (acquire: string[], tryAcquire: string[], release: string[]): LockOpApi[] => [
  ...acquire.map((api) => ({ api, op: 'acquire' as const, mode: 'exclusive' as const, objectArg: 0 })),
  ...tryAcquire.map((api) => ({ api, op: 'try' as const, mode: 'exclusive' as const, objectArg: 0 })),
  ...release.map((api) => ({ api, op: 'release' as const, mode: 'exclusive' as const, objectArg: 0 })),
];

export const POSIX_LOCK_OPS: LockOpApi[] = [
  ...exclusive(['pthread_mutex_lock', 'uv_mutex_lock', 'mtx_lock', 'pthread_spin_lock'],
    ['pthread_mutex_trylock', 'pthread_mutex_timedlock', 'uv_mutex_trylock', 'mtx_trylock', 'mtx_timedlock', 'pthread_spin_trylock'],
    ['pthread_mutex_unlock', 'uv_mutex_unlock', 'mtx_unlock', 'pthread_spin_unlock']),
  { api: 'pthread_rwlock_rdlock', op: 'acquire', mode: 'read', objectArg: 0 },
  { api: 'pthread_rwlock_tryrdlock', op: 'try', mode: 'read', objectArg: 0 },
  { api: 'pthread_rwlock_timedrdlock', op: 'try', mode: 'read', objectArg: 0 },
  { api: 'pthread_rwlock_wrlock', op: 'acquire', mode: 'write', objectArg: 0 },
  { api: 'pthread_rwlock_trywrlock', op: 'try', mode: 'write', objectArg: 0 },
  { api: 'pthread_rwlock_timedwrlock', op: 'try', mode: 'write', objectArg: 0 },
  { api: 'pthread_rwlock_unlock', op: 'release', mode: 'exclusive', objectArg: 0 },
  { api: 'uv_rwlock_rdlock', op: 'acquire', mode: 'read', objectArg: 0 },
  { api: 'uv_rwlock_tryrdlock', op: 'try', mode: 'read', objectArg: 0 },
  { api: 'uv_rwlock_wrlock', op: 'acquire', mode: 'write', objectArg: 0 },
  { api: 'uv_rwlock_trywrlock', op: 'try', mode: 'write', objectArg: 0 },
  { api: 'uv_rwlock_rdunlock', op: 'release', mode: 'read', objectArg: 0 },
  { api: 'uv_rwlock_wrunlock', op: 'release', mode: 'write', objectArg: 0 },
  // A semaphore initialised to 1 and waited/posted around a critical section is a lock.
  { api: 'sem_wait', op: 'acquire', mode: 'exclusive', objectArg: 0, balancedOnly: true },
  { api: 'sem_trywait', op: 'try', mode: 'exclusive', objectArg: 0, balancedOnly: true },
  { api: 'sem_post', op: 'release', mode: 'exclusive', objectArg: 0, balancedOnly: true },
  { api: 'uv_sem_wait', op: 'acquire', mode: 'exclusive', objectArg: 0, balancedOnly: true },
  { api: 'uv_sem_post', op: 'release', mode: 'exclusive', objectArg: 0, balancedOnly: true },
];

/**
 * Writing to a pipe or socket blocks while its buffer is full, until the thread at the other end
 * reads; reading blocks until a writer writes. The object is the descriptor (argument 0), keyed
 * like any other shared state (`ctx->pipe_fds`, a global fd).
 */
export const CHANNEL_WAITS: WaitApi[] = [
  ...['write', 'send', 'sendto', 'sendmsg', 'writev', 'mq_send'].map((api) => ({ api, kind: 'channel-send' as const, objectArg: 0, bounded: false })),
  { api: 'mq_timedsend', kind: 'channel-send', objectArg: 0, bounded: true },
  ...['read', 'recv', 'recvfrom', 'recvmsg', 'readv', 'mq_receive'].map((api) => ({ api, kind: 'channel-receive' as const, objectArg: 0, bounded: false })),
  { api: 'mq_timedreceive', kind: 'channel-receive', objectArg: 0, bounded: true },
];

/** A read drains the channel (releasing blocked writers); a write feeds it (releasing blocked readers). */
export const CHANNEL_RELEASES: ReleaseApi[] = [
  ...['read', 'recv', 'recvfrom', 'recvmsg', 'readv', 'mq_receive', 'mq_timedreceive'].map((api) => ({ api, kind: 'channel-send' as const, objectArg: 0 })),
  ...['write', 'send', 'sendto', 'sendmsg', 'writev', 'mq_send', 'mq_timedsend'].map((api) => ({ api, kind: 'channel-receive' as const, objectArg: 0 })),
];

export const NON_BLOCKING = {
  setters: [{ api: 'fcntl', objectArg: 0 }, { api: 'pipe2', objectArg: 0 }, { api: 'ioctl', objectArg: 0 }],
  flags: ['O_NONBLOCK', 'SOCK_NONBLOCK', 'MSG_DONTWAIT', 'FIONBIO', 'O_NDELAY'],
};

/**
 * CPython's GIL, for modules that embed Python: a thread holds it after `PyGILState_Ensure` or
 * `PyEval_RestoreThread` and drops it with `PyGILState_Release` / `PyEval_SaveThread`.
 */
export const PYTHON_GIL: LockApi = {
  lock: 'Python GIL',
  acquire: ['PyGILState_Ensure', 'PyEval_RestoreThread', 'PyEval_AcquireThread', 'PyEval_AcquireLock'],
  tryAcquire: [],
  release: ['PyGILState_Release', 'PyEval_SaveThread', 'PyEval_ReleaseThread', 'PyEval_ReleaseLock'],
  heldByEntries: false,
};
