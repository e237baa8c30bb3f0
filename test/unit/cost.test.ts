// The cost model of gateway/src/cost.ts: hand-checked costs, each with its arithmetic.
import { describe, expect, it } from 'vitest';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { createCostModel, MUTATION_BASE_COST } from '../../gateway/src/cost';
import { readSchemaFile } from '../../tenancy/schema-files';

/** A subgraph that exercises every rule; composed below, so that the model reads a real supergraph. */
const SHOP = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])

  type Query {
    pet(id: ID!): Pet
    pets(first: Int = 20, after: String): PetConnection!
      @listSize(slicingArguments: ["first"], sizedFields: ["edges"], assumedSize: 20, requireOneSlicingArgument: false)
    tags: [String!]! @listSize(assumedSize: 7)
    users(first: Int, last: Int): [User!]! @listSize(slicingArguments: ["first", "last"], assumedSize: 5, requireOneSlicingArgument: false)
    search(text: String!, fuzzy: Boolean @cost(weight: 4)): [SearchResult!]! @listSize(assumedSize: 3)
    animals: [Animal!]! @listSize(assumedSize: 2)
    report: Report!
    matrix: [[Pet!]!]! @listSize(assumedSize: 3)
    secretCount: Int! @cost(weight: 6)
  }
  type Mutation {
    createPet(input: PetInput!): Pet!
    deletePet(id: ID!): Boolean!
  }
  input PetInput { name: String! photo: Photo @cost(weight: 20) }
  scalar Photo @cost(weight: 2)
  type Pet @key(fields: "id") { id: ID! name: String! photo: Photo owner: User tags: [String!]! @listSize(assumedSize: 4) }
  type User @key(fields: "id") {
    id: ID!
    name: String!
    pets(first: Int = 5): [Pet!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
  }
  type PetConnection { edges: [PetEdge!]! totalCount: Int! @cost(weight: 2) }
  type PetEdge { cursor: String! node: Pet! }
  type Report @cost(weight: 8) { total: Int! }
  union SearchResult = Pet | User
  interface Animal { name: String! }
  type Dog implements Animal { name: String! friends: [Pet!]! @listSize(assumedSize: 6) }
  type Cat implements Animal @cost(weight: 3) { name: String! }
`;

function composeShop(): string {
  const result = composeServices([{ name: 'shop', url: 'http://shop.invalid/graphql', typeDefs: parse(SHOP) }]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

const shop = createCostModel(composeShop());
const requested = (query: string, variables: Record<string, unknown> = {}, operationName?: string) =>
  shop.requested(parse(query), operationName, variables);
const actual = (query: string, data: unknown, variables: Record<string, unknown> = {}) => shop.actual(parse(query), undefined, variables, data);

describe('requested cost', () => {
  const table: Array<[string, string, Record<string, unknown>, number]> = [
    // scalars and objects
    ['scalars cost nothing, the object 1', '{ pet(id: 1) { id name } }', {}, 1],
    ['@cost on a scalar field', '{ secretCount }', {}, 6],
    ['a list of scalars costs nothing', '{ tags }', {}, 0], // 7 x 0
    ['@cost on a scalar type', '{ pet(id: 1) { photo } }', {}, 3], // 1 + Photo 2
    ['@cost on an object type', '{ report { total } }', {}, 8],
    ['nested objects', '{ pet(id: 1) { owner { name } } }', {}, 2], // 1 + 1
    ['__typename is free', '{ pet(id: 1) { __typename owner { __typename } } }', {}, 2],
    // fragments and aliases
    ['named fragments', '{ pet(id: 1) { ...P } } fragment P on Pet { owner { ...U } } fragment U on User { name }', {}, 2],
    ['inline fragments, with and without a type condition', '{ pet(id: 1) { ... on Pet { owner { name } } ... { name } } }', {}, 2],
    ['each alias counts', '{ a: pet(id: 1) { owner { id } } b: pet(id: 2) { id } }', {}, 3], // (1 + 1) + 1
    // lists
    ['slicing argument literal, connection sizedFields', '{ pets(first: 4) { edges { node { id } } } }', {}, 9], // 1 + 4 x (1 + 1)
    ['slicing argument default in the schema', '{ pets { edges { node { id } } } }', {}, 41], // 1 + 20 x (1 + 1)
    ['slicing argument from a variable', 'query($n: Int) { pets(first: $n) { edges { node { id } } } }', { n: 7 }, 15], // 1 + 7 x 2
    ['absent variable: the schema default', 'query($n: Int) { pets(first: $n) { edges { node { id } } } }', {}, 41], // 1 + 20 x 2
    ['absent variable with its own default', 'query($n: Int = 3) { pets(first: $n) { edges { node { id } } } }', {}, 7], // 1 + 3 x 2
    ['explicit null: assumedSize', 'query($n: Int) { pets(first: $n) { edges { node { id } } } }', { n: null }, 41], // 1 + 20 x 2
    ['negative size counts as 0', '{ pets(first: -4) { edges { node { id } } } }', {}, 1], // 1 + 0 x 2
    ['totalCount weighs 2, unselected edges nothing', '{ pets(first: 50) { totalCount } }', {}, 3], // 1 + 2
    ['second slicing argument when the first is absent', '{ users(last: 4) { id } }', {}, 4], // 4 x 1
    ['first slicing argument present wins', '{ users(first: 2, last: 9) { id } }', {}, 2], // 2 x 1
    ['assumedSize when no slicing argument is given', '{ users { id } }', {}, 5], // 5 x 1
    ['assumedSize of a list of objects with a list of scalars', '{ pet(id: 1) { tags } }', {}, 1], // 1 + 4 x 0
    ['nested list types multiply per level', '{ matrix { id } }', {}, 9], // 3 x 3 x 1
    [
      'nested connections multiply',
      '{ pets(first: 10) { edges { node { owner { pets(first: 3) { id } } } } } }',
      {},
      61, // 1 + 10 x (edge 1 + node 1 + owner 1 + 3 x pet 1)
    ],
    ['nested list with its default', '{ pet(id: 1) { owner { pets { owner { id } } } } }', {}, 12], // 1 + 1 + 5 x (1 + 1)
    // @skip / @include
    ['@skip with a variable (true)', 'query($s: Boolean!) { pet(id: 1) { owner @skip(if: $s) { name } } }', { s: true }, 1],
    ['@skip with a variable (false)', 'query($s: Boolean!) { pet(id: 1) { owner @skip(if: $s) { name } } }', { s: false }, 2],
    ['@include with a literal', '{ pet(id: 1) { owner @include(if: false) { name } } }', {}, 1],
    ['@include on an inline fragment', '{ pet(id: 1) { ... @include(if: false) { owner { id } } } }', {}, 1],
    ['@skip on a fragment spread', '{ pet(id: 1) { ...O @skip(if: true) } } fragment O on Pet { owner { id } }', {}, 1],
    // interfaces and unions: the maximum over possible types
    ['interface: the dearest type', '{ animals { name } }', {}, 6], // 2 x max(Dog 1, Cat 3)
    [
      'interface: fragments on different types',
      '{ animals { ... on Dog { friends { id } } ... on Cat { name } } }',
      {},
      14, // 2 x max(Dog 1 + 6 x 1 = 7, Cat 3)
    ],
    [
      'union: fragments on different types',
      '{ search(text: "x") { ... on Pet { owner { name } } ... on User { pets(first: 2) { owner { id } } } } }',
      {},
      15, // 3 x max(Pet 1 + 1 = 2, User 1 + 2 x (1 + 1) = 5)
    ],
    // argument weights
    ['argument @cost when given', '{ search(text: "x", fuzzy: true) { __typename } }', {}, 7], // 4 + 3 x 1
    ['argument @cost when not given', '{ search(text: "x") { __typename } }', {}, 3], // 3 x 1
    ['argument @cost from a provided variable', 'query($f: Boolean) { search(text: "x", fuzzy: $f) { __typename } }', { f: false }, 7],
    ['argument @cost from an absent variable', 'query($f: Boolean) { search(text: "x", fuzzy: $f) { __typename } }', {}, 3],
    // mutations
    ['a mutation root field adds 10', 'mutation { createPet(input: { name: "a" }) { id } }', {}, 11], // 10 + 1
    ['each mutation root field adds 10', 'mutation { a: deletePet(id: 1) b: deletePet(id: 2) }', {}, 20], // 10 + 0 + 10 + 0
    ['mutation root fields in a fragment', 'mutation { ...M } fragment M on Mutation { deletePet(id: 1) }', {}, 10],
    ['input field @cost in a literal', 'mutation { createPet(input: { name: "a", photo: "p" }) { id } }', {}, 31], // 10 + 20 + 1
    [
      'input field @cost in a variable',
      'mutation($i: PetInput!) { createPet(input: $i) { owner { name } } }',
      { i: { name: 'a', photo: 'p' } },
      32, // 10 + 20 + 1 + 1
    ],
    // fragment cycles (invalid, but the model must not loop)
    [
      'a fragment cycle stops at the repeated fragment',
      '{ pet(id: 1) { ...A } } fragment A on Pet { owner { pets(first: 1) { ...A } } }',
      {},
      3, // pet 1 + owner 1 + 1 x (pet 1 + A not expanded again)
    ],
    ['a fragment spreading itself', '{ pet(id: 1) { ...A } } fragment A on Pet { name ...A }', {}, 1],
  ];

  it.each(table)('%s', (_name, query, variables, cost) => {
    expect(requested(query, variables)).toBe(cost);
  });

  it('picks the operation by name and refuses an operation it cannot find with BAD_USER_INPUT', () => {
    const document = 'query A { pet(id: 1) { id } } query B { pets(first: 2) { edges { node { id } } } }';
    expect(requested(document, {}, 'A')).toBe(1);
    expect(requested(document, {}, 'B')).toBe(5); // 1 + 2 x (1 + 1)
    expect(() => requested(document, {}, 'C')).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }));
    expect(() => requested(document, {})).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }));
    expect(() => requested('subscription { pet(id: 1) { id } }')).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }));
  });

  it('caches per document without mixing variables that change the cost', () => {
    const document = parse('query($n: Int, $s: Boolean!) { pets(first: $n) { edges { node { owner @skip(if: $s) { id } } } } }');
    expect(shop.requested(document, undefined, { n: 2, s: false })).toBe(7); // 1 + 2 x (1 + 1 + 1)
    expect(shop.requested(document, undefined, { n: 2, s: true })).toBe(5); // 1 + 2 x (1 + 1)
    expect(shop.requested(document, undefined, { n: 3, s: true })).toBe(7); // 1 + 3 x (1 + 1)
    expect(shop.requested(document, undefined, { n: 2, s: false })).toBe(7);
    // An equal document parsed apart shares the cache entry, and gives the same answers.
    const again = parse('query($n: Int, $s: Boolean!) {\n  pets(first: $n) { edges { node { owner @skip(if: $s) { id } } } }\n}');
    expect(shop.requested(again, undefined, { n: 2, s: true })).toBe(5);
    expect(shop.requested(again, undefined, { n: 4, s: false })).toBe(13); // 1 + 4 x 3
  });

  it('prices fragments spread many times in linear time (no exponential walk)', () => {
    // F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^30 paths, one memoised walk.
    const depth = 30;
    const fragments = Array.from({ length: depth }, (_, i) =>
      i === depth - 1 ? `fragment F${i} on User { id }` : `fragment F${i} on User { a: pets(first: 1) { owner { ...F${i + 1} } } b: pets(first: 1) { owner { ...F${i + 1} } } }`,
    );
    const started = performance.now();
    const cost = requested(`{ pet(id: 1) { owner { ...F0 } } } ${fragments.join(' ')}`);
    expect(performance.now() - started).toBeLessThan(1_000);
    // c(F29) = 0, c(Fi) = 2 x (pet 1 + owner 1 + c(Fi+1)) = 2^(31 - i) - 4, so c(F0) = 2^31 - 4; plus pet 1 + owner 1.
    expect(cost).toBe(2 ** 31 - 4 + 2);
  });
});

describe('actual cost', () => {
  it('counts real list lengths and nothing for null objects', () => {
    const query = '{ pets(first: 10) { edges { node { owner { name } } } } }';
    expect(requested(query)).toBe(31); // 1 + 10 x (1 + 1 + 1)
    const data = { pets: { edges: [{ node: { owner: { name: 'a' } } }, { node: { owner: null } }] } };
    expect(actual(query, data)).toBe(6); // 1 + (1 + 1 + 1) + (1 + 1 + 0)
    expect(actual(query, { pets: { edges: [] } })).toBe(1);
    expect(actual('{ pet(id: 1) { owner { name } } }', { pet: null })).toBe(0);
    expect(actual(query, null)).toBe(0);
  });

  it('prices an abstract value as its __typename, else as the dearest possible type', () => {
    const query = '{ search(text: "x") { __typename ... on Pet { owner { name } } ... on User { pets(first: 2) { id } } } }';
    const data = { search: [{ __typename: 'Pet', owner: { name: 'a' } }, { __typename: 'User', pets: [{ id: '1' }] }] };
    expect(actual(query, data)).toBe(4); // (Pet 1 + 1) + (User 1 + 1 x 1)
    expect(actual('{ animals { name } }', { animals: [{ name: 'Rex' }] })).toBe(3); // 1 x max(Dog 1, Cat 3)
    expect(actual('{ animals { __typename name } }', { animals: [{ __typename: 'Dog', name: 'Rex' }] })).toBe(1);
  });

  it('keeps aliases, fragments, @skip, argument weights and the mutation base cost', () => {
    expect(actual('{ a: pet(id: 1) { ...O } b: pet(id: 2) { id } } fragment O on Pet { owner { id } }', { a: { owner: { id: 'u' } }, b: { id: 'p' } })).toBe(3);
    expect(actual('query($s: Boolean!) { pet(id: 1) { owner @skip(if: $s) { id } } }', { pet: {} }, { s: true })).toBe(1);
    expect(actual('{ search(text: "x", fuzzy: true) { __typename } }', { search: [] })).toBe(4); // 4 + 0 elements
    expect(actual('mutation { createPet(input: { name: "a" }) { id } }', { createPet: { id: '1' } })).toBe(MUTATION_BASE_COST + 1);
    expect(actual('mutation { a: deletePet(id: 1) b: deletePet(id: 2) }', { a: true, b: false })).toBe(2 * MUTATION_BASE_COST);
    expect(actual('{ pet(id: 1) { tags photo } }', { pet: { tags: ['a', 'b'], photo: null } })).toBe(1); // 1 + 2 x 0 + null photo 0
    expect(actual('{ pet(id: 1) { photo } }', { pet: { photo: 'x' } })).toBe(3); // 1 + Photo 2
  });
});

describe('building the model', () => {
  it('refuses a list field without @listSize', () => {
    expect(() => createCostModel('type Query { pets: [Pet!]! pet: Pet } type Pet { id: ID! }')).toThrow(/Query\.pets/);
    expect(() => createCostModel('type Query { pet: Pet } type Pet { id: ID! friends: [Pet!]! }')).toThrow(/Pet\.friends/);
  });

  it('accepts a list sized by the sizedFields of every field that returns its type, and only then', () => {
    const sized = `
      type Query { a(first: Int = 5): Conn! @listSize(slicingArguments: ["first"], sizedFields: ["edges"]) }
      type Conn { edges: [Edge!]! }
      type Edge { id: ID! }
    `;
    expect(createCostModel(sized).requested(parse('{ a { edges { id } } }'), undefined, {})).toBe(6); // 1 + 5 x 1
    expect(() => createCostModel(sized.replace('type Query {', 'type Query { b: Conn!'))).toThrow(/Conn\.edges/);
  });

  it('lets an implementation inherit the @listSize of its interface field', () => {
    const model = createCostModel(`
      type Query { node: Node }
      interface Node { children(first: Int = 3): [Leaf!]! @listSize(slicingArguments: ["first"]) }
      type Branch implements Node { children(first: Int = 3): [Leaf!]! }
      type Leaf { id: ID! }
    `);
    expect(model.requested(parse('{ node { children { id } } }'), undefined, {})).toBe(4); // 1 + 3 x 1
    expect(model.requested(parse('{ node { children(first: 8) { id } } }'), undefined, {})).toBe(9); // 1 + 8 x 1
  });

  it('follows the @link renames of the cost spec', () => {
    const model = createCostModel(`
      schema @link(url: "https://specs.apollo.dev/cost/v0.1", as: "price", import: [{ name: "@listSize", as: "@size" }]) { query: Query }
      type Query {
        things(first: Int): [Thing!]! @size(slicingArguments: ["first"], assumedSize: 4)
        pricey: Thing! @price(weight: 9)
        cheap: Thing! @cost(weight: 100)
      }
      type Thing { id: ID! }
    `);
    // @price is the cost spec's @cost here; this @cost is some other directive.
    expect(model.requested(parse('{ pricey { id } cheap { id } things(first: 2) { id } }'), undefined, {})).toBe(12); // 9 + 1 + 2 x 1
    expect(model.requested(parse('{ things { id } }'), undefined, {})).toBe(4); // assumedSize 4
  });
});

describe('the real supergraph', () => {
  const model = createCostModel(readSchemaFile('supergraph.graphql'));
  const cost = (query: string) => model.requested(parse(query), undefined, {});

  it('prices the demo query', () => {
    const demo = '{ currentTenant { slug plan } pets(first: 10) { edges { node { name owner { name } tenant { slug } } } } }';
    expect(cost(demo)).toBe(42); // currentTenant 1 + pets 1 + 10 x (edge 1 + node 1 + owner 1 + tenant 1)
  });

  it('reads the weights and list sizes composed from the subgraphs', () => {
    expect(cost('query FluffyOnly { pets(first: 5) { edges { node { name } } } }')).toBe(11); // 1 + 5 x (1 + 1)
    expect(cost('{ pets { totalCount } }')).toBe(2); // 1 + totalCount 1
    expect(cost('{ quotaStatus { used } currentTenant { usage { used } } }')).toBe(5); // QuotaStatus 2 + (Tenant 1 + QuotaStatus 2)
    expect(cost('{ users { name } tenantConfig { key } recentOperations { cost } }')).toBe(90); // 50 + 20 + 20
    expect(cost('mutation { createPet(input: { name: "a", species: "cat" }) { id owner { pets(first: 2) { id } } } }')).toBe(14); // 10 + 1 + 1 + 2
  });
});
