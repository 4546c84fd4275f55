import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { getRecord } from '../src/store/records.js';
import { runAirlock } from './support/cli.js';
import { type Backend, backends, createTestDatabase } from './support/databases.js';
import { ensureBuilt } from './support/serve.js';
import { startModelServer, startReceiver, waitFor } from './support/servers.js';

/** `airlock deliveries` works on the database directly, with or without a server (docs/design.md: CLI and server share it). */
async function scenario(backend: Backend) {
  ensureBuilt();
  const database = await createTestDatabase(backend);
  const model = await startModelServer();
  const receiver = await startReceiver();
  receiver.statusFor.set('r1', 422);
  receiver.statusFor.set('r2', 400);
  const dir = mkdtempSync(path.join(tmpdir(), 'airlock-deliveries-cli-'));
  const file = path.join(dir, 'airlock.yaml');
  writeFileSync(
    file,
    `
database: "${database.url}"
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: error }
pipelines:
  tickets:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      helpdesk: { type: webhook, url: "${receiver.url}" }
`,
  );
  const cli = (...args: string[]) => runAirlock([...args, '--config', file], { cwd: dir, timeoutMs: 30_000 });
  let server = await createServer(loadConfig(file), { logger: createLogger('error') });
  try {
    await server.listen({ port: 0, host: '127.0.0.1' });
    await server.airlock.ingestor.ingest('tickets', [
      { id: 'r1', text: 'a' },
      { id: 'r2', text: 'b' },
      { id: 'r3', text: 'c' },
    ]);
    const db = () => server.airlock.runtime.store.db;
    await waitFor(
      async () =>
        (await getRecord(db(), 'tickets', 'r1'))?.status === 'dead_lettered' &&
        (await getRecord(db(), 'tickets', 'r2'))?.status === 'dead_lettered',
      20_000,
      'two dead letters',
    );
    await server.close();

    const list = await cli('deliveries', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    const dl = JSON.parse(list.stdout) as {
      dead_letters: { id: number; record_id: string; last_status: number; case_id: number }[];
      total: number;
    };
    expect(dl.total).toBe(2);
    const byRecord = Object.fromEntries(dl.dead_letters.map((d) => [d.record_id, d]));
    expect(byRecord.r1).toMatchObject({ last_status: 422 });
    expect(byRecord.r1.case_id).toBeGreaterThan(0);

    const show = await cli('deliveries', 'show', String(byRecord.r1.id), '--json');
    expect(JSON.parse(show.stdout)).toMatchObject({ response: { status: 422 }, request: { method: 'POST', url: receiver.url } });
    expect((await cli('deliveries', 'show', String(byRecord.r1.id))).stdout).toMatch(/last response: 422/);

    expect((await cli('deliveries', 'discard', String(byRecord.r1.id))).code).toBe(2);
    const discard = await cli('deliveries', 'discard', String(byRecord.r1.id), '--reason', 'customer withdrew the ticket', '--by', 'ana');
    expect(discard.code, discard.stderr).toBe(0);
    const replay = await cli('deliveries', 'replay', String(byRecord.r2.id), '--by', 'ana', '--json');
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toEqual({ replayed: [byRecord.r2.id], skipped: [] });
    // A second replay of the same one is refused: it is no longer dead-lettered.
    expect((await cli('deliveries', 'replay', String(byRecord.r2.id))).code).toBe(1);

    // The record waits on the system again; a server delivers it once the destination accepts it.
    receiver.statusFor.delete('r2');
    server = await createServer(loadConfig(file), { logger: createLogger('error') });
    expect((await getRecord(server.airlock.runtime.store.db, 'tickets', 'r2'))?.status).toBe('decided');
    await server.listen({ port: 0, host: '127.0.0.1' });
    await waitFor(async () => (await getRecord(db(), 'tickets', 'r2'))?.status === 'delivered', 20_000, 'r2 delivered after the replay');
    expect((await getRecord(db(), 'tickets', 'r1'))?.status).toBe('dead_lettered');
    const cases = await db().selectFrom('review_cases').selectAll().where('type', '=', 'dead_letter').orderBy('record_id').execute();
    expect(cases.map((c) => [c.record_id, c.status, JSON.parse(c.resolution ?? '{}').label])).toEqual([
      ['r1', 'resolved', 'discarded'],
      ['r2', 'resolved', 'replayed'],
    ]);
    const events = await db()
      .selectFrom('events')
      .select(['record_id', 'kind', 'detail'])
      .where('kind', 'in', ['delivery_replayed', 'delivery_discarded'])
      .execute();
    expect(events.map((e) => [e.record_id, e.kind, JSON.parse(e.detail).by])).toEqual(
      expect.arrayContaining([
        ['r1', 'delivery_discarded', 'ana'],
        ['r2', 'delivery_replayed', 'ana'],
      ]),
    );
    const status = await cli('deliveries', 'status', '--json');
    expect(JSON.parse(status.stdout).destinations[0]).toMatchObject({ destination: 'helpdesk', breaker: { state: 'closed' } });
  } finally {
    await server.close().catch(() => {});
    await model.close();
    await receiver.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.concurrent('airlock deliveries', () => {
  for (const backend of backends) {
    it(`lists, shows, discards and replays dead letters on the database (${backend})`, { timeout: 90_000 }, async () => {
      await scenario(backend);
    });
  }
});
