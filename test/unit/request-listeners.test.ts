// The gateway's Apollo Server listeners merged into one (gateway/src/request-listeners.ts): every hook
// of every listener runs, in order, and an operation waits only on hooks that did not finish at once.
import type { BaseContext, GraphQLRequestContextDidResolveOperation, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { DONE, sharedListenerPlugin, type SharedListener } from '../../gateway/src/request-listeners';

type Resolved = GraphQLRequestContextDidResolveOperation<BaseContext>;
type Sending = GraphQLRequestContextWillSendResponse<BaseContext>;
const resolved = {} as Resolved;
const sending = {} as Sending;

async function listenerOf(listeners: Array<SharedListener<BaseContext>>) {
  const plugin = sharedListenerPlugin(listeners);
  const listener = await plugin.requestDidStart!({} as never);
  if (!listener) throw new Error('no listener');
  return { plugin, listener };
}

describe('sharedListenerPlugin', () => {
  it('gives every request the same listener, with only the hooks some listener has', async () => {
    const { plugin, listener } = await listenerOf([{ willSendResponse: () => DONE }]);
    expect(await plugin.requestDidStart!({} as never)).toBe(listener);
    expect(listener.willSendResponse).toBeTypeOf('function');
    expect(listener.didResolveOperation).toBeUndefined();
    expect(listener.executionDidStart).toBeUndefined();
  });

  it('runs each listener’s hook in the order given, and returns DONE when all finished at once', async () => {
    const calls: string[] = [];
    const { listener } = await listenerOf([
      { didResolveOperation: () => (calls.push('a:resolve'), DONE), willSendResponse: () => (calls.push('a:send'), DONE) },
      { willSendResponse: () => (calls.push('b:send'), DONE) },
      { didResolveOperation: () => (calls.push('c:resolve'), DONE) },
    ]);
    expect(listener.didResolveOperation!(resolved)).toBe(DONE);
    expect(listener.willSendResponse!(sending)).toBe(DONE);
    expect(calls).toEqual(['a:resolve', 'c:resolve', 'a:send', 'b:send']);
  });

  it('waits for a hook that did not finish at once', async () => {
    let finished = false;
    const { listener } = await listenerOf([
      { willSendResponse: () => DONE },
      { willSendResponse: () => new Promise<void>((resolve) => setTimeout(() => ((finished = true), resolve()), 20)) },
    ]);
    const pending = listener.willSendResponse!(sending);
    expect(pending).not.toBe(DONE);
    expect(finished).toBe(false);
    await pending;
    expect(finished).toBe(true);
  });

  it('still runs the other hooks when one throws, and fails with that error', async () => {
    const calls: string[] = [];
    const refusal = new Error('refused');
    const { listener } = await listenerOf([
      {
        didResolveOperation: () => {
          calls.push('a');
          throw refusal;
        },
      },
      { didResolveOperation: () => (calls.push('b'), DONE) },
    ]);
    await expect(listener.didResolveOperation!(resolved)).rejects.toBe(refusal);
    expect(calls).toEqual(['a', 'b']);
  });

  it('hands a single listener’s hook to Apollo Server as it is (its own errors reach the pipeline unchanged)', async () => {
    const refusal = new Error('refused');
    const hook = () => Promise.reject(refusal);
    const { listener } = await listenerOf([{ didResolveOperation: hook }]);
    await expect(listener.didResolveOperation!(resolved)).rejects.toBe(refusal);
  });
});
