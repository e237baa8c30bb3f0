export type { KeyValueStore, BucketPolicy, BucketState, MonthlyCounter, StreamEntry, SlotClaim, SlotRelease, LeaseClaim, AdmissionState } from './types';
export { tenantKey } from './types';
export { createMemoryStore } from './memory';
export { createRedisStore, type RedisStoreOptions } from './redis';
