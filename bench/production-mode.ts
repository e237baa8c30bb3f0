// Imported first by bench/run.ts, before anything loads graphql-js: the bench process runs its
// libraries in production mode, as a deployed gateway does (NODE_ENV=production). graphql-js decides
// at load time; in development it checks every failed `instanceof` of its type predicates for a second
// copy of the library, a tax on both gateways that no production process pays. The stack's own
// configuration stays a development one (bench/harness.ts benchEnv: the dev issuer signs the tokens).
process.env.NODE_ENV = 'production';
export {};
