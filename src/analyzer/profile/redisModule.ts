import type { Profile } from './profile';
import { CHANNEL_RELEASES, CHANNEL_WAITS, NON_BLOCKING, POSIX_LOCK_OPS, PYTHON_GIL } from './posix';

/**
 * Module API calls that do not need the GIL (thread-safe by Redis' documentation): memory,
 * strings, thread-safe contexts, blocked-client completion, logging, clocks and private dicts.
 * Every other `RedisModule_*` call made without the GIL is a `gil-required-api` finding.
 */
const GIL_FREE_APIS = [
  'Alloc', 'Calloc', 'Realloc', 'Free', 'Strdup', 'TryAlloc', 'TryCalloc', 'TryRealloc', 'MallocSize', 'MallocUsableSize', 'MallocSizeString', 'MallocSizeDict',
  'CreateString', 'CreateStringPrintf', 'CreateStringFromLongLong', 'CreateStringFromULongLong', 'CreateStringFromDouble', 'CreateStringFromLongDouble', 'CreateStringFromString',
  'FreeString', 'StringPtrLen', 'RetainString', 'HoldString', 'TrimStringAllocation', 'StringToLongLong', 'StringToULongLong', 'StringToDouble', 'StringToLongDouble', 'StringCompare', 'StringAppendBuffer',
  'GetThreadSafeContext', 'GetDetachedThreadSafeContext', 'FreeThreadSafeContext', 'ThreadSafeContextLock', 'ThreadSafeContextTryLock', 'ThreadSafeContextUnlock',
  'UnblockClient', 'AbortBlock', 'BlockedClientMeasureTimeStart', 'BlockedClientMeasureTimeEnd', 'EventLoopAddOneShot',
  'Log', 'LogIOError', '_Assert', 'Assert', 'Milliseconds', 'Microseconds', 'MonotonicMicroseconds', 'CachedMicroseconds',
  'CreateDict', 'FreeDict', 'DictSize', 'DictSet', 'DictSetC', 'DictReplace', 'DictReplaceC', 'DictGet', 'DictGetC', 'DictDel', 'DictDelC', 'DictIteratorStart', 'DictIteratorStartC',
  'DictIteratorStop', 'DictIteratorReseek', 'DictIteratorReseekC', 'DictNext', 'DictNextC', 'DictPrev', 'DictPrevC', 'DictCompare', 'DictCompareC',
  // Replies through a blocked client's thread-safe context are buffered and flushed on unblock.
  'ReplyWith*', 'ReplySetArrayLength', 'ReplySetMapLength', 'ReplySetSetLength', 'ReplySetAttributeLength',
  // Pure functions of their arguments (key-slot hashing, freeing a returned array).
  'ClusterKeySlot', 'ClusterKeySlotC', 'ShardingGetKeySlot', 'ShardingGetSlotRange', 'ClusterFreeSlotRanges', 'ClusterCanonicalKeyNameInSlot',
  // Local to the (thread-safe) context they are given.
  'GetSelectedDb', 'SelectDb',
  // Accessors of objects the module holds (a blocked client's private data, its handle in a
  // context, a scan cursor): plain field reads and writes, allocation and free in Redis' module.c.
  'BlockClientGetPrivateData', 'BlockClientSetPrivateData', 'GetBlockedClientHandle', 'GetBlockedClientReadyKey',
  'ScanCursorCreate', 'ScanCursorDestroy', 'ScanCursorRestart',
  // An error reply, buffered like the ReplyWith* calls.
  'WrongArity',
  // A call reply is the module's own parsed copy: reading and freeing it needs no GIL (Redis'
  // helloblock.c example reads its SCAN reply after ThreadSafeContextUnlock).
  'CallReplyType', 'CallReplyLength', 'CallReplyArrayElement', 'CallReplyInteger', 'CallReplyDouble', 'CallReplyBool',
  'CallReplyBigNumber', 'CallReplyVerbatim', 'CallReplySetElement', 'CallReplyMapElement', 'CallReplyAttribute',
  'CallReplyAttributeElement', 'CallReplyStringPtr', 'CallReplyProto', 'CreateStringFromCallReply', 'FreeCallReply',
  // Called in a forked child, where there is no GIL to hold.
  'SendChildHeartbeat', 'ExitFromChild',
  'GetApi', 'IsModuleNameBusy', 'GetContextFlagsAll', 'GetKeyspaceNotificationFlagsAll', 'GetServerVersion', 'GetTypeMethodVersion',
].map((n) => `RedisModule_${n}`);

// Argument positions follow redismodule.h. Every callback registered here runs on Redis' main
// thread, holding the GIL.
export const redisModuleProfile: Profile = {
  name: 'redis-module',
  registrations: [
    { api: 'RedisModule_CreateCommand', nameArg: 1, callbacks: [{ arg: 2, kind: 'command' }] },
    { api: 'RedisModule_CreateSubcommand', nameArg: 1, callbacks: [{ arg: 2, kind: 'command' }] },
    { api: 'RedisModule_RegisterNumericConfig', nameArg: 1, callbacks: [{ arg: 6, kind: 'config-get' }, { arg: 7, kind: 'config-set' }, { arg: 8, kind: 'config-apply' }] },
    { api: 'RedisModule_RegisterStringConfig', nameArg: 1, callbacks: [{ arg: 4, kind: 'config-get' }, { arg: 5, kind: 'config-set' }, { arg: 6, kind: 'config-apply' }] },
    { api: 'RedisModule_RegisterBoolConfig', nameArg: 1, callbacks: [{ arg: 4, kind: 'config-get' }, { arg: 5, kind: 'config-set' }, { arg: 6, kind: 'config-apply' }] },
    { api: 'RedisModule_RegisterEnumConfig', nameArg: 1, callbacks: [{ arg: 7, kind: 'config-get' }, { arg: 8, kind: 'config-set' }, { arg: 9, kind: 'config-apply' }] },
    { api: 'RedisModule_SubscribeToServerEvent', callbacks: [{ arg: 2, kind: 'server-event' }] },
    { api: 'RedisModule_SubscribeToKeyspaceEvents', callbacks: [{ arg: 2, kind: 'keyspace-notification' }] },
    { api: 'RedisModule_CreateTimer', callbacks: [{ arg: 2, kind: 'timer' }] },
    { api: 'RedisModule_BlockClient', callbacks: [{ arg: 1, kind: 'blocked-reply' }, { arg: 2, kind: 'blocked-timeout' }, { arg: 3, kind: 'blocked-free' }] },
    { api: 'RedisModule_BlockClientOnKeys', callbacks: [{ arg: 1, kind: 'blocked-reply' }, { arg: 2, kind: 'blocked-timeout' }, { arg: 3, kind: 'blocked-free' }] },
    { api: 'RedisModule_BlockClientOnAuth', callbacks: [{ arg: 2, kind: 'blocked-reply' }] },
    { api: 'RedisModule_RegisterCommandFilter', callbacks: [{ arg: 1, kind: 'command-filter' }] },
    { api: 'RedisModule_RegisterInfoFunc', callbacks: [{ arg: 1, kind: 'info' }] },
    { api: 'RedisModule_AddPostNotificationJob', callbacks: [{ arg: 1, kind: 'post-notification-job' }] },
    { api: 'RedisModule_EventLoopAdd', callbacks: [{ arg: 2, kind: 'event-loop' }] },
    { api: 'RedisModule_EventLoopAddOneShot', callbacks: [{ arg: 0, kind: 'event-loop' }] },
  ],
  namedEntries: [
    { name: 'RedisModule_OnLoad', kind: 'module-load' },
    { name: 'RedisModule_OnUnload', kind: 'module-load' },
  ],
  namedThreadRoots: [],
  threadCreators: [
    { api: 'pthread_create', startArg: 2 },
    { api: 'uv_thread_create', startArg: 1 },
    { api: 'uv_thread_create_ex', startArg: 2 },
    { api: 'thrd_create', startArg: 1 },
  ],
  apiPointerPrefixes: ['RedisModule_'],
  locks: [{
    lock: 'GIL',
    acquire: ['RedisModule_ThreadSafeContextLock'],
    tryAcquire: ['RedisModule_ThreadSafeContextTryLock'],
    release: ['RedisModule_ThreadSafeContextUnlock'],
    heldByEntries: true,
    requiredBy: { prefixes: ['RedisModule_'], safe: GIL_FREE_APIS },
  }, PYTHON_GIL],
  lockOps: POSIX_LOCK_OPS,
  nonBlocking: NON_BLOCKING,
  // Callbacks Redis runs later on its main thread: a lock only they release stays held until
  // the main thread gets to them.
  deferredEntryKinds: ['blocked-reply', 'blocked-timeout', 'blocked-free', 'timer', 'event-loop', 'post-notification-job', 'deferred-callback'],
  waits: [
    { api: 'pthread_cond_wait', kind: 'condvar', objectArg: 0, bounded: false },
    { api: 'pthread_cond_timedwait', kind: 'condvar', objectArg: 0, bounded: true },
    { api: 'uv_cond_wait', kind: 'condvar', objectArg: 0, bounded: false },
    { api: 'uv_cond_timedwait', kind: 'condvar', objectArg: 0, bounded: true },
    { api: 'cnd_wait', kind: 'condvar', objectArg: 0, bounded: false },
    { api: 'cnd_timedwait', kind: 'condvar', objectArg: 0, bounded: true },
    { api: 'pthread_barrier_wait', kind: 'barrier', objectArg: 0, bounded: false },
    { api: 'uv_barrier_wait', kind: 'barrier', objectArg: 0, bounded: false },
    { api: 'pthread_join', kind: 'join', objectArg: 0, bounded: false },
    { api: 'uv_thread_join', kind: 'join', objectArg: 0, bounded: false },
    { api: 'thrd_join', kind: 'join', objectArg: 0, bounded: false },
    { api: 'sem_wait', kind: 'semaphore', objectArg: 0, bounded: false },
    { api: 'sem_timedwait', kind: 'semaphore', objectArg: 0, bounded: true },
    { api: 'uv_sem_wait', kind: 'semaphore', objectArg: 0, bounded: false },
    ...CHANNEL_WAITS,
  ],
  releases: [
    { api: 'pthread_cond_signal', kind: 'condvar', objectArg: 0 },
    { api: 'pthread_cond_broadcast', kind: 'condvar', objectArg: 0 },
    { api: 'uv_cond_signal', kind: 'condvar', objectArg: 0 },
    { api: 'uv_cond_broadcast', kind: 'condvar', objectArg: 0 },
    { api: 'cnd_signal', kind: 'condvar', objectArg: 0 },
    { api: 'cnd_broadcast', kind: 'condvar', objectArg: 0 },
    { api: 'pthread_barrier_wait', kind: 'barrier', objectArg: 0 },
    { api: 'uv_barrier_wait', kind: 'barrier', objectArg: 0 },
    { api: 'sem_post', kind: 'semaphore', objectArg: 0 },
    { api: 'uv_sem_post', kind: 'semaphore', objectArg: 0 },
    ...CHANNEL_RELEASES,
  ],
  sleeps: ['usleep', 'sleep', 'nanosleep', 'sched_yield', 'pthread_yield', 'thrd_yield', 'thrd_sleep', 'uv_sleep', 'clock_nanosleep', '_mm_pause', '__builtin_ia32_pause', 'cpu_relax', 'RedisModule_Yield'],
  yields: ['RedisModule_Yield'],
  // Abnormal ends: libc's abort, the compiler's traps, assertion failures (glibc, BSD/macOS),
  // err(3), and the module API's assertion handler (Redis aborts after its bug report).
  noReturn: ['abort', '__builtin_trap', '__builtin_unreachable', '__assert_fail', '__assert_perror_fail', '__assert_rtn', '__assert', 'err', 'errx', 'verr', 'verrx', '__stack_chk_fail', 'RedisModule__Assert'],
  exits: ['exit', '_exit', '_Exit', 'quick_exit'],
  clocks: ['time', 'clock_gettime', 'gettimeofday', 'clock', 'uv_hrtime', 'uv_now', 'RedisModule_Milliseconds', 'RedisModule_Microseconds', 'RedisModule_MonotonicMicroseconds', 'RedisModule_CachedMicroseconds'],
  dispatchers: [
    {
      api: 'uv_run',
      registrars: [
        { api: 'uv_async_init', arg: 2 }, { api: 'uv_timer_start', arg: 1 }, { api: 'uv_idle_start', arg: 1 },
        { api: 'uv_prepare_start', arg: 1 }, { api: 'uv_check_start', arg: 1 }, { api: 'uv_poll_start', arg: 2 },
        { api: 'uv_close', arg: 1 }, { api: 'uv_read_start', arg: 2 }, { api: 'uv_signal_start', arg: 1 },
        { api: 'uv_queue_work', arg: 3 },
      ],
    },
  ],
};
