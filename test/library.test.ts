import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the package as a library', () => {
  it('exposes loadConfig and createServer under its own name, from the built package', async () => {
    const lib = await import('airlock');
    expect(typeof lib.loadConfig).toBe('function');
    expect(typeof lib.createServer).toBe('function');
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-lib-'));
    const config = lib.parseConfig(
      `database: sqlite:./a.db\nserver: { auth: off }\nlogging: { level: silent }\npipelines:\n  p:\n    model: { type: http, url: http://127.0.0.1:9/x }\n`,
      { file: path.join(dir, 'airlock.yaml') },
    );
    expect(config.database).toBe(`sqlite:${path.join(dir, 'a.db')}`);
    const server = await lib.createServer(config, { role: 'api' });
    const url = await server.listen({ port: 0 });
    const res = await fetch(`${url}/v1/pipelines/p/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'lib-1', n: 1 }),
    });
    expect(res.status).toBe(202);
    await server.close();
  });
});
