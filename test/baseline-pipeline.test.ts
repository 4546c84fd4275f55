import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { predictBaseline, trainBaseline } from '../src/models/baseline.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { waitFor } from './support/servers.js';

describe('a pipeline whose model is the built-in baseline', () => {
  let db: TestDatabase;
  let server: AirlockServer;
  let base: string;
  let dir: string;
  const docs = [
    ...Array.from({ length: 40 }, (_, i) => ({ text: `refund my invoice charge ${i % 5} card payment`, label: 'billing' })),
    ...Array.from({ length: 40 }, (_, i) => ({ text: `the app crash error ${i % 5} broken page`, label: 'bug' })),
  ];
  const model = trainBaseline(docs, { algorithm: 'naive_bayes' });

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-baseline-'));
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        server: { auth: 'off' },
        worker: { poll_interval: '20ms' },
        logging: { level: 'silent' },
        pipelines: {
          tickets: {
            model: { type: 'baseline', path: './model.json', text_fields: ['subject', 'body'] },
            routing: { auto_accept_at: 0.5 },
          },
        },
      }),
    );
    server = await createServer(loadConfig(file), { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('scores records with the trained model: the label and confidence equal predictBaseline on the same text', async () => {
    const record = { id: 'b-1', subject: 'Refund', body: 'please refund the charge on my card' };
    await fetch(`${base}/v1/pipelines/tickets/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(record),
    });
    const rec = await waitFor(
      async () => {
        const r = await json(fetch(`${base}/v1/pipelines/tickets/records/b-1`));
        return r.status === 'delivered' ? r : undefined;
      },
      10_000,
      'b-1 delivered',
    );
    const expected = predictBaseline(model, `${record.subject} ${record.body}`);
    expect(rec.prediction).toMatchObject({ label: 'billing', confidence: expected.confidence });
    expect(rec.decision).toMatchObject({ label: 'billing', source: 'auto' });
  });

  it('refuses a config whose model file is missing, naming the path', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, stringify({ database: db.url, pipelines: { t: { model: { type: 'baseline', path: './nope.json' } } } }));
    expect(() => loadConfig(file)).toThrow(/pipelines\.t\.model\.path: model file not found: \.\/nope\.json/);
  });
});
