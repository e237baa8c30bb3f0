// The gateway's Apollo Server plugins as one request listener.
//
// Apollo Server calls every hook of every request listener through `Promise.all` (parsing, validation,
// didResolveOperation, responseForOperation, execution, willSendResponse...), whether or not the
// listener has that hook: each listener costs about sixteen promises per operation, and with the
// request scope's AsyncLocalStorage every promise runs Node's promise hooks. The gateway's listeners
// (admission, the GraphQL-over-HTTP status, no suggestions) keep no state per request, so they are
// merged here into one listener that Apollo Server sees once.
import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';

/** What a hook returns when it finished synchronously: one settled promise for every request. */
export const DONE: Promise<void> = Promise.resolve();

/** The hooks a merged listener may have: plain hooks, whose results are not used by Apollo Server. */
export type SharedListener<TContext extends BaseContext> = Pick<GraphQLRequestListener<TContext>, 'didResolveOperation' | 'willSendResponse'>;
type HookName = keyof SharedListener<BaseContext>;
const HOOKS: readonly HookName[] = ['didResolveOperation', 'willSendResponse'];

type Hook<T> = (requestContext: T) => Promise<void>;

/** Calls each hook in order, as Apollo Server starts them, and waits for the ones that did not finish synchronously. */
function inOrder<T>(hooks: Hook<T>[]): Hook<T> {
  if (hooks.length === 1) return hooks[0]!;
  return (requestContext) => {
    let pending: Array<Promise<void>> | undefined;
    for (const hook of hooks) {
      let result: Promise<void>;
      try {
        result = hook(requestContext);
      } catch (error) {
        // As under Promise.all: the other hooks still run, and the first failure is the answer.
        result = Promise.reject(error);
      }
      if (result !== DONE) (pending ??= []).push(result);
    }
    return pending ? Promise.all(pending).then(() => undefined) : DONE;
  };
}

/**
 * One plugin whose every request gets the same listener, built from stateless listeners (in the order
 * given). A listener's hook may return `DONE` when it finished synchronously; nothing then waits on it.
 */
export function sharedListenerPlugin<TContext extends BaseContext>(listeners: Array<SharedListener<TContext>>): ApolloServerPlugin<TContext> {
  const merged: SharedListener<TContext> = {};
  for (const name of HOOKS) {
    const hooks = listeners.map((listener) => listener[name]?.bind(listener)).filter((hook) => hook !== undefined) as Array<Hook<never>>;
    if (hooks.length > 0) (merged as Record<HookName, Hook<never>>)[name] = inOrder(hooks);
  }
  const ready: Promise<GraphQLRequestListener<TContext>> = Promise.resolve(merged);
  return { requestDidStart: () => ready };
}
