import type { Profile } from './profile';

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
  threadCreators: [
    { api: 'pthread_create', startArg: 2 },
    { api: 'uv_thread_create', startArg: 1 },
    { api: 'uv_thread_create_ex', startArg: 2 },
    { api: 'thrd_create', startArg: 1 },
  ],
  apiPointerPrefixes: ['RedisModule_'],
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
