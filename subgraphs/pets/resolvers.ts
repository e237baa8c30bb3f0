import { notFound, badInput } from '../../tenancy/errors';
import { isUuid } from '../../tenancy/db';
import { decodeCursor, encodeCursor, optionalText, pageSize, text } from '../../tenancy/validation';
import type { Resolvers } from './generated/resolvers-types';
import * as repo from './repository';
import type { PetsContext } from './context';

async function findPet(ctx: PetsContext, id: string): Promise<repo.PetRow | null> {
  const pet = await ctx.loaders.petById.load(id);
  if (!pet) ctx.auditNotFound('Pet', [id]);
  return pet;
}

/** An owner must be a user of the caller's tenant; another tenant's user looks like no user at all. */
async function checkOwner(ctx: PetsContext, ownerId: string | null | undefined): Promise<string | null | undefined> {
  if (ownerId === undefined || ownerId === null) return ownerId;
  if (isUuid(ownerId) && (await ctx.withTenant((q) => repo.userExists(q, ownerId)))) return ownerId.toLowerCase();
  if (isUuid(ownerId)) ctx.auditNotFound('User', [ownerId]);
  throw badInput('ownerId does not name a user of this tenant', { argument: 'ownerId' });
}

export const resolvers: Resolvers = {
  Query: {
    async pets(_root, { first, after, species }, ctx) {
      const filter = optionalText('species', species, 100) ?? null;
      return ctx.withTenant((q) => repo.petPage(q, { first: pageSize(first), after: decodeCursor(after), species: filter }));
    },
    pet: (_root, { id }, ctx) => findPet(ctx, id),
  },
  Mutation: {
    async createPet(_root, { input }, ctx) {
      const name = text('name', input.name, 200);
      const species = text('species', input.species, 100);
      const ownerId = (await checkOwner(ctx, input.ownerId)) ?? null;
      return ctx.withTenant((q) => repo.insertPet(q, { name, species, ownerId }));
    },
    async updatePet(_root, { id, input }, ctx) {
      const patch = {
        name: optionalText('name', input.name, 200),
        species: optionalText('species', input.species, 100),
        ownerId: input.ownerId === undefined ? undefined : await checkOwner(ctx, input.ownerId),
      };
      const updated = isUuid(id) ? await ctx.withTenant((q) => repo.updatePet(q, id, patch)) : null;
      if (!updated) {
        ctx.auditNotFound('Pet', [id]);
        throw notFound('Pet');
      }
      return updated;
    },
    async deletePet(_root, { id }, ctx) {
      const deleted = isUuid(id) && (await ctx.withTenant((q) => repo.deletePet(q, id)));
      if (!deleted) {
        ctx.auditNotFound('Pet', [id]);
        throw notFound('Pet');
      }
      return true;
    },
  },
  PetConnection: {
    edges: (page) => page.rows.map((row) => ({ cursor: encodeCursor(row.createdAtKey, row.id), node: row })),
    pageInfo: (page) => {
      const last = page.rows.at(-1);
      return { hasNextPage: page.hasNextPage, endCursor: last ? encodeCursor(last.createdAtKey, last.id) : null };
    },
    totalCount: (page, _args, ctx) => ctx.withTenant((q) => repo.countPets(q, page.species)),
  },
  Pet: {
    __resolveReference: (ref, ctx) => findPet(ctx, ref.id),
    createdAt: (pet) => pet.createdAt.toISOString(),
    owner: (pet) => (pet.ownerId ? { __typename: 'User', id: pet.ownerId } : null),
    tenant: (pet) => ({ __typename: 'Tenant', id: pet.tenantId }),
  },
  User: {
    // Pets only adds User.pets; which users exist is the tenants subgraph's business, and RLS makes
    // another tenant's user id simply have no pets.
    __resolveReference: (ref) => ({ id: ref.id }),
    pets: (user, { first }, ctx) => ctx.loaders.petsByOwner(pageSize(first)).load(user.id),
  },
};
