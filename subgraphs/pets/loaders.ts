import type DataLoader from 'dataloader';
import { byIdLoader, childrenLoader } from '../../tenancy/loaders';
import type { SubgraphContext } from '../../tenancy/subgraph-server';
import { petsByIds, petsByOwners, type PetRow } from './repository';

export interface PetLoaders {
  petById: DataLoader<string, PetRow | null>;
  /** One loader per page size asked for, each batching all owners of a tick. */
  petsByOwner(first: number): DataLoader<string, PetRow[]>;
}

export function createPetLoaders(ctx: Omit<SubgraphContext<PetLoaders>, 'loaders'>): PetLoaders {
  const byOwner = new Map<number, DataLoader<string, PetRow[]>>();
  return {
    petById: byIdLoader(ctx.withTenant, petsByIds),
    petsByOwner(first) {
      let loader = byOwner.get(first);
      if (!loader) {
        loader = childrenLoader(ctx.withTenant, (q, ids) => petsByOwners(q, ids, first), (row) => row.ownerId);
        byOwner.set(first, loader);
      }
      return loader;
    },
  };
}
