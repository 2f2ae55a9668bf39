// A profile is data: which API calls register entry points, start threads, dispatch callbacks
// or take locks. The built-in `redis-module` profile lives in redisModule.ts; the `.lockpath`
// model file adds to it. Keeping this as tables keeps the analysis free of API names.

export type EntryKind =
  | 'command' | 'config-get' | 'config-set' | 'config-apply' | 'server-event' | 'keyspace-notification'
  | 'timer' | 'blocked-reply' | 'blocked-timeout' | 'blocked-free' | 'module-load' | 'command-filter'
  | 'info' | 'post-notification-job' | 'event-loop' | 'main' | 'model';

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

export interface Profile {
  name: string;
  registrations: RegistrationApi[];
  /** Functions that are entry points by name (e.g. `RedisModule_OnLoad`). */
  namedEntries: { name: string; kind: EntryKind }[];
  threadCreators: ThreadCreatorApi[];
  dispatchers: DispatcherApi[];
  /** Global function pointers with these prefixes are APIs the host fills at load time. */
  apiPointerPrefixes: string[];
}

export function mergeProfiles(base: Profile, extra: Partial<Profile>): Profile {
  return {
    name: extra.name ?? base.name,
    registrations: [...base.registrations, ...(extra.registrations ?? [])],
    namedEntries: [...base.namedEntries, ...(extra.namedEntries ?? [])],
    threadCreators: [...base.threadCreators, ...(extra.threadCreators ?? [])],
    dispatchers: [...base.dispatchers, ...(extra.dispatchers ?? [])],
    apiPointerPrefixes: [...base.apiPointerPrefixes, ...(extra.apiPointerPrefixes ?? [])],
  };
}
