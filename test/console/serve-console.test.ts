import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerConsole } from '../../src/server/console.js';

describe('serving the console', () => {
  it('says what to run until the console is built, then serves it without a restart, its assets cached for good', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-web-'));
    const app = Fastify();
    await registerConsole(app, dir);
    app.get('/v1/ping', async () => ({ pong: true }));

    const before = await app.inject('/queue');
    expect(before.statusCode).toBe(503);
    expect(before.body).toContain('npm run build');

    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(
      path.join(dir, 'index.html'),
      '<!doctype html><title>Airlock console</title><script type="module" src="/assets/app-1a2b.js"></script>',
    );
    writeFileSync(path.join(dir, 'assets', 'app-1a2b.js'), 'console.log("console")');

    for (const url of ['/', '/queue', '/cases/12', '/quarantine/tickets/a%20b', '/pipelines/tickets/drift/%40model.label']) {
      const page = await app.inject(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('Airlock console');
      expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
      expect(page.headers['cache-control']).toBe('no-cache');
    }
    const asset = await app.inject('/assets/app-1a2b.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    // Nothing outside the assets folder, no catch-all over other paths, and the API answers as before.
    expect((await app.inject('/assets/../index.html')).statusCode).not.toBe(200);
    expect((await app.inject('/not-a-page')).statusCode).toBe(404);
    expect((await app.inject('/v1/ping')).json()).toEqual({ pong: true });
    await app.close();
  });
});
