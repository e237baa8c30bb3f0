# One image for every service. The SERVICES variable picks what a container runs (gateway, pets,
# tenants, usage or any comma-separated mix); docker-compose.yml runs one service per container.
# There is no build step: tsx runs the TypeScript sources as they are, exactly like `npm start`.
FROM node:20-slim

# @apollo/gateway sends usage telemetry and probes cloud metadata at start unless this is set.
ENV APOLLO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, in their own layer, so a source change does not reinstall them. Only runtime
# dependencies: tsx is one of them; codegen, vitest, typescript and autocannon are for development.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Sources stay owned by root (read-only to the app). .data holds the dev keys file (DEV_KEYS_FILE);
# it belongs to the runtime user so the keys can be created there, and a named volume mounted on it
# starts with this ownership.
COPY . .
RUN mkdir -p /app/.data && chown node:node /app/.data

# node:20-slim ships an unprivileged `node` user (uid 1000) with a home directory for npm's cache.
USER node

# Listen on every interface inside the container (the default 127.0.0.1 is unreachable from outside).
ENV HOST=0.0.0.0
EXPOSE 4000 4001 4002 4003

CMD ["node_modules/.bin/tsx", "scripts/start.ts"]
