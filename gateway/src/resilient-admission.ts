import { outsideRequestScope } from '../../tenancy/context';
import type { Logger } from '../../tenancy/logger';
import { createMemoryStore, type BucketPolicy, type KeyValueStore, type MonthlyCounter } from '../../tenancy/store';

/** The part of the store that admission uses. */
export type AdmissionStore = Pick<
  KeyValueStore,
  'takeTokens' | 'refundTokens' | 'peekTokens' | 'acquireSlot' | 'releaseSlot' | 'admit' | 'settle' | 'seedCounter' | 'setIfAbsent' | 'publish'
>;

export type AdmissionMode = { kind: 'shared' } | { kind: 'local'; since: number; failures: number };

export interface ResilientAdmissionOptions {
  primary: KeyValueStore;
  logger: Logger;
  /** While the primary is unreachable: admit from a local bucket (open) or refuse with 503 (closed). @default 'open' */
  failMode?: 'open' | 'closed';
  /**
   * This instance's share of each tenant's limits while it admits alone: with N gateways, 1/N keeps
   * the tenant near its plan overall. @default 1
   */
  localShare?: number;
  /** How often the primary is probed while degraded. @default 1_000 ms */
  probeIntervalMs?: number;
  onModeChange?: (mode: AdmissionMode) => void;
}

export class AdmissionUnavailableError extends Error {}

/**
 * Admission that survives a Redis outage (issue 3, fail mode): every call goes to the shared store
 * until one fails; then, in fail-open mode, a local in-process store answers with each tenant's
 * limits scaled to this instance's share, while a probe waits for Redis. When Redis answers again the
 * monthly spend admitted locally is added to the shared counters (resynchronisation), and the shared
 * buckets take over again.
 */
export function createResilientAdmission(options: ResilientAdmissionOptions) {
  const { primary, logger, failMode = 'open', localShare = 1, probeIntervalMs = 1_000, onModeChange } = options;
  const local = createMemoryStore();
  let mode: AdmissionMode = { kind: 'shared' };
  let probe: NodeJS.Timeout | undefined;
  /** Monthly spend admitted locally per counter key, added to Redis's counters on recovery. */
  const localMonthSpend = new Map<string, number>();

  const scaled = (policy: BucketPolicy): BucketPolicy => ({
    capacity: Math.max(1, policy.capacity * localShare),
    restoreRate: Math.max(0.001, policy.restoreRate * localShare),
  });

  const scaledLimit = (limit: number): number => Math.max(1, Math.ceil(limit * localShare));

  function setMode(next: AdmissionMode) {
    mode = next;
    onModeChange?.(next);
  }

  async function recover() {
    try {
      if (!(await primary.ping())) return;
      // A counter Redis still has gets what was admitted meanwhile; one it lost stays absent and is
      // seeded from PostgreSQL on next use, once the buffered usage events have drained there.
      for (const [key, delta] of localMonthSpend) await primary.addToCounter(key, delta);
      localMonthSpend.clear();
      clearInterval(probe);
      probe = undefined;
      logger.warn({ degradedForMs: mode.kind === 'local' ? Date.now() - mode.since : 0 }, 'shared admission store is back: admitting from Redis again');
      setMode({ kind: 'shared' });
    } catch {
      // still down
    }
  }

  function degrade(error: unknown) {
    if (mode.kind === 'local') {
      mode.failures++;
      return;
    }
    logger.error(
      { err: error, failMode, localShare },
      failMode === 'open' ? 'shared admission store unreachable: admitting locally' : 'shared admission store unreachable: refusing operations',
    );
    setMode({ kind: 'local', since: Date.now(), failures: 1 });
    probe = outsideRequestScope(() => setInterval(() => void recover(), probeIntervalMs));
    probe.unref();
  }

  async function call<T>(shared: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (mode.kind === 'shared') {
      try {
        return await shared();
      } catch (error) {
        degrade(error);
      }
    }
    if (failMode === 'closed') throw new AdmissionUnavailableError('admission store unavailable');
    return fallback();
  }

  const store: AdmissionStore = {
    takeTokens: (key, cost, policy, month) =>
      call(
        () => primary.takeTokens(key, cost, policy, month),
        async () => {
          const state = await local.takeTokens(key, cost, scaled(policy), month);
          if (month && state.allowed && cost > 0) remember(month, cost);
          return { ...state, applied: scaled(policy) };
        },
      ),
    refundTokens: (key, amount, policy, month) =>
      call(
        () => primary.refundTokens(key, amount, policy, month),
        async () => {
          if (month) remember(month, -amount);
          return { ...(await local.refundTokens(key, amount, scaled(policy), month)), applied: scaled(policy) };
        },
      ),
    peekTokens: (key, policy) =>
      call(
        () => primary.peekTokens(key, policy),
        async () => ({ ...(await local.peekTokens(key, scaled(policy))), applied: scaled(policy) }),
      ),
    acquireSlot: (key, id, limit, leaseMs) =>
      call(() => primary.acquireSlot(key, id, limit, leaseMs), () => local.acquireSlot(key, id, scaledLimit(limit), leaseMs)),
    releaseSlot: async (key, id) => {
      // Released on both: a slot may have been taken before the switch.
      await Promise.allSettled([primary.releaseSlot(key, id), local.releaseSlot(key, id)]);
    },
    admit: (key, cost, policy, slot, month, lease) =>
      call(
        () => primary.admit(key, cost, policy, slot, month, lease),
        // Admitting alone, no lease: the local store is this process's already.
        async () => {
          const state = await local.admit(key, cost, scaled(policy), { ...slot, limit: scaledLimit(slot.limit) }, month);
          if (month && state.allowed && cost > 0) remember(month, cost);
          return { ...state, applied: scaled(policy) };
        },
      ),
    settle: (key, amount, policy, slot, month) =>
      call(
        () => primary.settle(key, amount, policy, slot, month),
        async () => {
          // As releaseSlot: the slot may have been taken on the shared store before the switch.
          for (const id of [slot.id, ...(slot.more ?? [])]) void primary.releaseSlot(slot.key, id).catch(() => {});
          if (month) remember(month, -amount);
          return { ...(await local.settle(key, amount, scaled(policy), slot, month)), applied: scaled(policy) };
        },
      ),
    seedCounter: (key, value, ttl) => call(() => primary.seedCounter(key, value, ttl), () => local.seedCounter(key, value, ttl)),
    setIfAbsent: (key, value, ttl) => call(() => primary.setIfAbsent(key, value, ttl), () => local.setIfAbsent(key, value, ttl)),
    publish: (channel, message) => call(() => primary.publish(channel, message), () => local.publish(channel, message)),
  };

  function remember(month: MonthlyCounter, delta: number) {
    localMonthSpend.set(month.key, (localMonthSpend.get(month.key) ?? 0) + delta);
  }

  return {
    store,
    get mode() {
      return mode;
    },
    async close() {
      clearInterval(probe);
      await local.close();
    },
  };
}
export type ResilientAdmission = ReturnType<typeof createResilientAdmission>;
