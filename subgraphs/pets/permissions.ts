import { isAdmin, isMember, isViewer } from '../../tenancy/shield';

/** Who may do what in the pets subgraph. Anything not named here is denied. */
export const permissions = {
  Query: { pets: isViewer, pet: isViewer },
  Mutation: { createPet: isMember, updatePet: isMember, deletePet: isAdmin },
  Pet: isViewer,
  PetConnection: isViewer,
  PetEdge: isViewer,
  PageInfo: isViewer,
  User: isViewer,
  Tenant: isViewer,
};
