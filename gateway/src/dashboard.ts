// GET /dashboard: the live quota page (dashboard/), bundled in memory by esbuild and served by the gateway.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Logger } from '../../tenancy/logger';

export interface DashboardOptions {
  /** The folder holding index.html and src/main.ts. @default the repository's dashboard/ */
  root?: string;
  /** Minify the bundle. @default true */
  minify?: boolean;
  logger?: Logger;
}

export interface Dashboard {
  /** Answers /dashboard and everything under it; false (nothing written) for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Settles when the bundle is built (or failed to build, which is logged); requests wait for it themselves. */
  ready: Promise<void>;
}

interface Asset {
  body: Buffer;
  contentType: string;
  /** Content hash: the ETag, and the ?v= that makes the URL immutable. */
  hash: string;
}

interface Assets {
  html: Asset;
  files: Map<string, Asset>;
  ms: number;
}

export const DASHBOARD_PATH = '/dashboard';
const DEFAULT_ROOT = fileURLToPath(new URL('../../dashboard/', import.meta.url));
const ASSET_NAMES = ['app.js', 'app.css'] as const;
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/**
 * The page runs only its own bundle and styles, and talks only to this origin: the token it holds is a
 * bearer credential, so nothing from elsewhere may run beside it. connect-src names ws: and wss:
 * because CSP levels before 3 do not count a WebSocket to the same host as 'self'.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const hashOf = (body: Buffer | string) => createHash('sha256').update(body).digest('base64url').slice(0, 16);

/**
 * One build per process and per root (a test process may start several gateways): bundling takes
 * about 150 ms of esbuild's own process, and its result never changes while the process runs. This
 * is a process-wide cache on purpose; it holds no request or tenant state.
 */
const builds = new Map<string, Promise<Assets>>();

async function bundle(root: string, minify: boolean): Promise<Assets> {
  const started = performance.now();
  const [result, template] = await Promise.all([
    build({
      entryPoints: { app: join(root, 'src/main.ts') },
      bundle: true,
      minify,
      target: 'es2020',
      platform: 'browser',
      format: 'iife',
      // write: false keeps every output in memory; outdir only names them (app.js, app.css).
      write: false,
      outdir: join(root, 'out'),
      legalComments: 'none',
      sourcemap: false,
      logLevel: 'silent',
    }),
    readFile(join(root, 'index.html'), 'utf8'),
  ]);
  const files = new Map<string, Asset>();
  for (const output of result.outputFiles) {
    const name = basename(output.path);
    const body = Buffer.from(output.contents);
    files.set(name, { body, contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream', hash: hashOf(body) });
  }
  let html = template;
  for (const name of ASSET_NAMES) {
    const asset = files.get(name);
    const reference = `"${DASHBOARD_PATH}/${name}"`;
    if (!asset) throw new Error(`dashboard: the bundle produced no ${name}`);
    // A template edit that drops a reference would serve a page without its code: refuse at start.
    if (!html.includes(reference)) throw new Error(`dashboard: index.html must reference ${reference}`);
    html = html.replaceAll(reference, `"${DASHBOARD_PATH}/${name}?v=${asset.hash}"`);
  }
  const htmlBody = Buffer.from(html);
  return { html: { body: htmlBody, contentType: CONTENT_TYPES['.html']!, hash: hashOf(htmlBody) }, files, ms: Math.round(performance.now() - started) };
}

function send(req: IncomingMessage, res: ServerResponse, asset: Asset, cacheControl: string) {
  const etag = `"${asset.hash}"`;
  const headers = { ...SECURITY_HEADERS, 'cache-control': cacheControl, etag };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': asset.contentType, 'content-length': String(asset.body.length) });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Starts bundling dashboard/src/main.ts at once (in esbuild's own process, beside the gateway's start,
 * so the gateway is not kept waiting) and serves:
 * - `/dashboard` (and `/dashboard/`): the page, `no-cache` with an ETag, so a new deployment shows at once;
 * - `/dashboard/app.js`, `/dashboard/app.css`: the bundle. The page asks for them with `?v=<content
 *   hash>`, and such a URL never changes content, so it is cached for a year (`immutable`); without
 *   the current hash they are served `no-cache`.
 */
export function createDashboard(options: DashboardOptions = {}): Dashboard {
  const { root = DEFAULT_ROOT, minify = true, logger } = options;
  const key = `${root}\0${minify}`;
  let assets = builds.get(key);
  if (!assets) {
    assets = bundle(root, minify);
    builds.set(key, assets);
    assets.then(
      ({ ms, files }) => logger?.info({ ms, bytes: Object.fromEntries([...files].map(([name, file]) => [name, file.body.length])) }, 'dashboard bundled'),
      (error: unknown) => logger?.error({ err: error }, 'dashboard failed to build: /dashboard answers 500'),
    );
  }
  const built = assets;
  const ready = built.then(
    () => undefined,
    () => undefined,
  );

  async function respond(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed\n', { allow: 'GET, HEAD' });
    let current: Assets;
    try {
      current = await built;
    } catch {
      return sendText(res, 500, 'The dashboard failed to build; the gateway log says why.\n');
    }
    const rest = url.pathname.slice(DASHBOARD_PATH.length);
    if (rest === '' || rest === '/' || rest === '/index.html') return send(req, res, current.html, 'no-cache');
    const asset = current.files.get(rest.slice(1));
    if (!asset || rest.lastIndexOf('/') !== 0) return sendText(res, 404, 'Not found\n');
    const versioned = url.searchParams.get('v') === asset.hash;
    send(req, res, asset, versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
  }

  return {
    ready,
    handle(req, res, url) {
      if (url.pathname !== DASHBOARD_PATH && !url.pathname.startsWith(`${DASHBOARD_PATH}/`)) return false;
      respond(req, res, url).catch((error: unknown) => {
        logger?.error({ err: error }, 'dashboard request failed');
        if (!res.headersSent) sendText(res, 500, 'Internal server error\n');
        else res.end();
      });
      return true;
    },
  };
}
