import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CONSOLE_PAGE } from './access.js';

/**
 * The console's client-side routes (web/src/App.tsx): each answers the app's index.html, which then shows the page.
 * They are listed, not matched by a catch-all, so an unknown path stays a 404 problem and nothing here can shadow
 * /v1, /healthz, /readyz, /metrics or /openapi.json.
 */
export const CONSOLE_ROUTES = [
  '/',
  '/queue',
  '/cases/:id',
  '/quarantine',
  '/quarantine/:pipeline/:id',
  '/halts',
  '/halts/:pipeline',
  '/deliveries',
  '/confidence',
  '/drift',
  '/readiness',
  '/pipelines/:pipeline/confidence',
  '/pipelines/:pipeline/drift',
  '/pipelines/:pipeline/drift/:field',
  '/pipelines/:pipeline/readiness',
];

/** The console's bundle, served by @fastify/static (hashed file names, cached for good). */
export const CONSOLE_ASSETS = '/assets/*';

/**
 * The page's policy: scripts only from this origin (the bundle; no inline script, no eval), data only from this
 * origin's API; inline style attributes are allowed because the chart library sets them.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where `npm run build` puts the console: dist/web, seen from this file in dist/server (or in src/server). */
export function consoleAssetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, path.basename(path.dirname(here)) === 'dist' ? '../web' : '../../dist/web');
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/**
 * Serves the built console at `/` (its assets under /assets/, hashed and cached for good). The build is looked for on
 * every page load, so a console built (or rebuilt) while the server runs is served without a restart; until then the
 * pages answer 503 with what to run.
 */
export async function registerConsole(app: FastifyInstance, dir: string = consoleAssetsDir()): Promise<void> {
  await app.register(fastifyStatic, {
    root: path.join(dir, 'assets'),
    prefix: '/assets/',
    immutable: true,
    maxAge: '365d',
    index: false,
    list: false,
    dotfiles: 'deny',
    logLevel: 'silent',
  });
  for (const url of CONSOLE_ROUTES) {
    // Not part of the HTTP API: left out of the OpenAPI document.
    app.get(url, { schema: { hide: true }, config: { access: CONSOLE_PAGE } }, async (_req, reply) => {
      securityHeaders(reply).header('cache-control', 'no-cache');
      if (!existsSync(path.join(dir, 'index.html'))) {
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The web console is not built: run `npm run build` (it writes dist/web), then reload this page.\n');
      }
      return reply.sendFile('index.html', dir, { cacheControl: false });
    });
  }
}
