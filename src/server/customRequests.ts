import { findingSite } from '../analyzer/concurrency/types';
import { ResponseError, ErrorCodes } from 'vscode-languageserver/node';
import type { Connection } from 'vscode-languageserver/node';
import { LockpathError } from '../analyzer/errors';
import { trace } from '../analyzer/query/trace';
import { neighborhood } from '../analyzer/query/neighborhood';
import { traceToJson } from '../analyzer/report/formats';
import { toSarif } from '../analyzer/report/sarif';
import type { ProjectSession } from '../analyzer/session';
import { FindingRequest, FindingsRequest, FunctionNamesRequest, GraphRequest, SarifRequest, TraceRequest } from '../shared/protocol';
import type { ContextsJson, TraceResultJson } from '../shared/protocol';
import type { Workspace } from './workspace';

/** The typed custom requests: trace, k-hop graph, findings and their evidence, SARIF export. */
export function registerCustomRequests(connection: Connection, getWorkspace: () => Workspace): void {
  const sessionFor = async (folder?: string): Promise<ProjectSession> => {
    const state = getWorkspace().folderFor(folder);
    if (!state) throw new ResponseError(ErrorCodes.InvalidParams, folder ? `unknown workspace folder ${folder}` : 'no workspace folder is open');
    const session = await state.ready;
    if (!session) throw new ResponseError(ErrorCodes.InternalError, `the folder ${state.root} could not be analysed`);
    return session;
  };
  const guard = <T>(work: () => T): T => {
    try {
      return work();
    } catch (err) {
      // Bad names and arguments are the user's to fix: say what is wrong, keep the server up.
      if (err instanceof LockpathError) throw new ResponseError(ErrorCodes.InvalidParams, err.message);
      throw err;
    }
  };
  // The thread contexts of each function in a result, so views can colour by thread.
  const contextsOf = (session: ProjectSession, functions: { id: string }[]): ContextsJson => {
    const out: ContextsJson = {};
    for (const { id } of functions) {
      const fn = session.analysis.program.idToIndex.get(id);
      if (fn === undefined) continue;
      for (const c of session.concurrency.contexts) {
        const m = c.reached[fn];
        if (m) (out[id] ??= []).push({ context: c.id, lock: c.lock, state: m === 1 ? 'held' : m & 1 ? 'may-be-held' : 'not-held' });
      }
    }
    return out;
  };
  connection.onRequest(TraceRequest, async (params) => {
    if (!params || typeof params.from !== 'string' || typeof params.to !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, 'lockpath/trace needs { from, to }');
    const session = await sessionFor(params.folder);
    const r = guard(() => traceToJson(trace(session.analysis.program, { from: params.from, to: params.to, via: Array.isArray(params.via) ? params.via.map(String) : [], maxPaths: Math.min(Math.max(1, Number(params.maxPaths) || 5), 50) })) as TraceResultJson);
    return { ...r, contexts: contextsOf(session, r.functions) };
  });
  connection.onRequest(GraphRequest, async (params) => {
    if (!params || typeof params.around !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, 'lockpath/graph needs { around }');
    const session = await sessionFor(params.folder);
    const direction = params.direction === 'in' || params.direction === 'out' ? params.direction : 'both';
    const g = guard(() => neighborhood(session.analysis.program, { around: params.around, depth: Math.min(Math.max(0, Number(params.depth ?? 2) || 0), 10), direction, maxNodes: Math.min(Math.max(1, Number(params.maxNodes) || 2000), 20000) }));
    return { ...g, contexts: contextsOf(session, g.functions) };
  });
  connection.onRequest(FindingRequest, async (params) => {
    if (!params || typeof params.id !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, 'lockpath/finding needs { id }');
    const session = await sessionFor(params.folder);
    return session.findings.find((f) => f.id === params.id) ?? null;
  });
  connection.onRequest(FindingsRequest, async (params) => {
    const session = await sessionFor(params?.folder);
    const folder = getWorkspace().folderFor(params?.folder)!.uri;
    return session.findings.map((f) => ({ id: f.id, class: f.class, message: f.message, entry: f.entry.function, site: findingSite(f), suppressed: !!f.suppressed, folder }));
  });
  connection.onRequest(FunctionNamesRequest, async (params) => {
    const session = await sessionFor(params?.folder);
    return session.analysis.program.functions.filter((f) => f.defined).map((f) => f.id).sort();
  });
  connection.onRequest(SarifRequest, async (params) => {
    const session = await sessionFor(params?.folder);
    return toSarif(session.findings);
  });
}
