import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { runAirlock } from './support/cli.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt } from './support/serve.js';
import { type ModelServer, type ReceivedRequest, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

const contract = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'subject', 'customer_email'],
  properties: {
    id: { type: 'string' },
    subject: { type: 'string' },
    customer_email: { type: 'string', format: 'email' },
    plan: { enum: ['free', 'pro'] },
    seats: { type: 'integer' },
  },
};

const ticket = (i: number) => ({
  id: `t-${i}`,
  subject: `Order ${i} did not arrive`,
  customer_email: `c${i}@example.com`,
  plan: i % 2 ? 'pro' : 'free',
});
/** The upstream renamed customer_email to customer_email_address. */
const renamed = (i: number) => {
  const { customer_email, ...rest } = ticket(i);
  return { ...rest, customer_email_address: customer_email };
};

describe.each(backends)('the ingestion boundary on %s: schema-change halt, accept, reject, quarantine', (backend) => {
  let db: TestDatabase;
  let model: ModelServer;
  let helpdesk: Receiver;
  let alertsHook: Receiver;
  let valuesHook: Receiver;
  let server: AirlockServer;
  let base: string;
  let dir: string;
  /** Bodies the model was asked to score, in order. */
  const scored: Record<string, unknown>[] = [];

  const post = async (p: string, body: unknown) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const record = (id: string) => json(fetch(`${base}/v1/pipelines/tickets/records/${encodeURIComponent(id)}`));
  const cli = (args: string[]) => runAirlock(['--config', path.join(dir, 'airlock.yaml'), ...args], { cwd: dir, timeoutMs: 60_000 });

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(backend);
    model = await startModelServer((rec) => {
      scored.push(rec);
      return { body: { label: 'shipping', confidence: 0.99 } };
    });
    helpdesk = await startReceiver();
    alertsHook = await startReceiver();
    valuesHook = await startReceiver();
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-boundary-'));
    writeFileSync(path.join(dir, 'ticket.schema.json'), JSON.stringify(contract));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        server: { auth: 'off' },
        worker: { poll_interval: '20ms', lease: '5s' },
        logging: { level: 'silent' },
        alerts: [
          { type: 'webhook', url: alertsHook.url, format: 'json' },
          { type: 'webhook', url: valuesHook.url, format: 'json', include_values: true },
        ],
        pipelines: {
          tickets: {
            contract: './ticket.schema.json',
            gate: { halt_after: { records: 3, within: '10m' } },
            model: { type: 'http', url: model.url, timeout: '2s', retries: 1, concurrency: 16 },
            routing: { auto_accept_at: 0.9 },
            review: { case_types: { quarantine: { owner: 'data-eng', sla: '1d' }, schema_halt: { owner: 'data-eng', sla: '1h' } } },
            destinations: { helpdesk: { type: 'webhook', url: helpdesk.url, concurrency: 16 } },
          },
        },
      }),
    );
    const config = parseConfig(readFileSync(file, 'utf8'), { file });
    server = await createServer(config, { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([model?.close(), helpdesk?.close(), alertsHook?.close(), valuesHook?.close()]);
    await db?.drop();
  });

  it('halts on a renamed field before scoring one record of the new shape, alerts, and after accept loses nothing', async () => {
    // 1,000 conforming records.
    for (let i = 0; i < 1000; i += 100) {
      const res = await post(
        '/v1/pipelines/tickets/records',
        Array.from({ length: 100 }, (_, k) => ticket(i + k)),
      );
      expect(res.status).toBe(202);
    }
    await waitFor(async () => helpdesk.applied.size >= 1000, 60_000, 'the 1,000 conforming records to be delivered');
    // The upstream renames a field: the first two are quarantined (one odd record cannot stop production)…
    const first = await json(post('/v1/pipelines/tickets/records', [renamed(1000), renamed(1001)]));
    expect(first.records.map((r: { status: string }) => r.status)).toEqual(['quarantined', 'quarantined']);
    // …the third halts the pipeline, and everything after it waits as `halted`, whatever its shape.
    const third = await json(post('/v1/pipelines/tickets/records', renamed(1002)));
    expect(third.records[0].status).toBe('halted');
    const more = await json(
      post('/v1/pipelines/tickets/records', [...Array.from({ length: 47 }, (_, k) => renamed(1003 + k)), ticket(1050)]),
    );
    expect(new Set(more.records.map((r: { status: string }) => r.status))).toEqual(new Set(['halted']));

    // The alert reached the webhook: kind, field, counts and example ids — never a record's values.
    const alert = (await waitFor(
      () => alertsHook.requests.find((r) => String((r.body as unknown as { title: string }).title).includes('halted')),
      10_000,
      'the halt alert',
    )) as ReceivedRequest;
    const a = alert.body as unknown as { severity: string; fields: Record<string, unknown>; text: string };
    expect(a.severity).toBe('critical');
    expect(a.fields).toMatchObject({ pipeline: 'tickets', kind: 'unknown_field', field: 'customer_email_address', records: 3 });
    expect(String(a.fields.example_ids).split(', ')).toEqual(['t-1000', 't-1001', 't-1002']);
    expect(JSON.stringify(alert.body)).not.toContain('@example.com');
    expect(a.text).toContain('Accepting it would change the contract: ');
    expect(a.text).toContain('added field customer_email_address (string)');
    expect(a.text).toContain('customer_email is no longer required');
    // A sink configured to receive values gets the changed field's values in the example records.
    const withValues = (await waitFor(() => valuesHook.requests[0], 10_000, 'the halt alert with values')) as ReceivedRequest;
    expect((withValues.body as unknown as { values: unknown }).values).toEqual([
      { record_id: 't-1000', value: 'c1000@example.com' },
      { record_id: 't-1001', value: 'c1001@example.com' },
      { record_id: 't-1002', value: 'c1002@example.com' },
    ]);

    // The pipeline list and the halt page show it; the proposal is what a person will accept.
    const pipelines = await json(fetch(`${base}/v1/pipelines`));
    expect(pipelines.pipelines[0].halted).toBe(true);
    const status = await json(fetch(`${base}/v1/pipelines/tickets/halt`));
    expect(status).toMatchObject({ halted: true, backlog: 49, quarantined_with_change: 2, contract: { version: 1 } });
    expect(status.proposed.changes.sort()).toEqual(['added field customer_email_address (string)', 'customer_email is no longer required']);
    const cases = await json(fetch(`${base}/v1/review/cases?pipeline=tickets&type=schema_halt`));
    expect(cases.cases).toHaveLength(1);
    expect(cases.cases[0].owner).toBe('data-eng');

    // Nothing of the new shape (nor anything sent after the halt) is scored while the workers keep polling.
    await new Promise((r) => setTimeout(r, 300));
    expect(scored).toHaveLength(1000);
    expect(scored.filter((b) => 'customer_email_address' in b)).toEqual([]);
    expect(scored.find((b) => b.id === 't-1050')).toBeUndefined();
    expect((await record('t-1010')).status).toBe('halted');

    // The quarantine lists the two early ones by kind.
    const q = await json(fetch(`${base}/v1/quarantine?pipeline=tickets&kind=unknown_field`));
    expect(q.records.map((r: { id: string }) => r.id)).toEqual(['t-1000', 't-1001']);

    // A person accepts the change from the CLI, on the same database, while the server runs.
    const accepted = await cli(['contract', 'accept', '--pipeline', 'tickets', '--by', 'dana', '--note', 'upstream v2 naming', '--json']);
    // Without --as the CLI acts as an admin, and says so (the only line on stderr).
    expect(accepted.stderr).toBe('acting as an admin, recorded as dana (give --as USER to act as a person)\n');
    expect(accepted.code).toBe(0);
    const out = JSON.parse(accepted.stdout);
    expect(out).toMatchObject({ decision: 'accepted', version: 2, released: 2, resumed: 51 });

    // The backlog is scored in arrival order and delivered: count in equals count out, one effect per record.
    await waitFor(async () => helpdesk.applied.size >= 1051, 60_000, 'all 1,051 records to be delivered');
    expect(helpdesk.applied.size).toBe(1051);
    expect([...helpdesk.seen.values()].every((n) => n === 1)).toBe(true);
    // Claimed in arrival order, in rounds of up to 2 × concurrency (32) calls that may answer in any order.
    const late = scored.slice(1000).map((b) => Number(String(b.id).slice(2)));
    const sorted = [...late].sort((x, y) => x - y);
    expect(sorted).toEqual(Array.from({ length: 51 }, (_, i) => 1000 + i));
    for (const [i, id] of late.entries()) expect(Math.abs(sorted.indexOf(id) - i)).toBeLessThan(32);
    const r = await record('t-1002');
    expect(r.status).toBe('delivered');

    const versions = await cli(['contract', 'versions', '--pipeline', 'tickets', '--json']);
    const v = JSON.parse(versions.stdout).versions;
    expect(
      v.map((x: { version: number; status: string; source: string; created_by: string | null }) => [
        x.version,
        x.status,
        x.source,
        x.created_by,
      ]),
    ).toEqual([
      [1, 'superseded', 'config', null],
      [2, 'active', 'accepted', 'dana'],
    ]);
    expect((await json(fetch(`${base}/v1/pipelines/tickets/halt`))).halted).toBe(false);
  }, 180_000);

  it('rejecting a change quarantines its records, does not halt again on it, and quarantined records are released, edited or discarded', async () => {
    const enterprise = (i: number) => ({ ...ticket(i), plan: 'enterprise' });
    await post('/v1/pipelines/tickets/records', [enterprise(2000), enterprise(2001), enterprise(2002), ticket(2003)]);
    const status = await json(fetch(`${base}/v1/pipelines/tickets/halt`));
    expect(status.halt.change).toEqual({ kind: 'new_enum_value', field: 'plan' });

    const res = await post('/v1/pipelines/tickets/halt/reject', { by: 'dana', note: 'enterprise is not launched' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ decision: 'rejected', quarantined: 1, resumed: 1 });
    // The conforming record that waited behind the halt goes on; the rejected shape is held.
    await waitFor(async () => (await record('t-2003')).status === 'delivered', 30_000, 't-2003 to be delivered');
    // The same change again is quarantined without halting the pipeline.
    for (let i = 2004; i < 2008; i++)
      expect((await json(post('/v1/pipelines/tickets/records', enterprise(i)))).records[0].status).toBe('quarantined');
    expect((await json(fetch(`${base}/v1/pipelines/tickets/halt`))).halted).toBe(false);

    // Release as is: re-checked, still breaks the contract, stays quarantined (422) and unchanged.
    const asIs = await post('/v1/pipelines/tickets/quarantine/t-2004/release', { by: 'ana' });
    expect(asIs.status).toBe(422);
    expect((await json(asIs)).violations[0]).toMatchObject({ kind: 'new_enum_value', path: '/plan' });
    expect((await record('t-2004')).status).toBe('quarantined');

    // Edit and release: the corrected record is scored and delivered; the received body is kept.
    const edited = await post('/v1/pipelines/tickets/quarantine/t-2004/release', {
      by: 'ana',
      record: { ...enterprise(2004), plan: 'pro' },
      note: 'enterprise → pro',
    });
    expect(edited.status).toBe(200);
    expect(await json(edited)).toMatchObject({ released: true, status: 'received' });
    await waitFor(async () => (await record('t-2004')).status === 'delivered', 30_000, 't-2004 to be delivered');
    const shown = await json(fetch(`${base}/v1/pipelines/tickets/quarantine/t-2004`));
    expect(shown.body.plan).toBe('pro');
    expect(shown.original_body.plan).toBe('enterprise');
    expect(shown.events.find((e: { kind: string }) => e.kind === 'released').detail).toMatchObject({
      by: 'ana',
      edited: true,
      changed_fields: ['plan'],
    });
    expect(helpdesk.applied.get(helpdeskKey('t-2004'))?.body.record.plan).toBe('pro');

    // Discard needs a reason, and keeps the record (discarded) with its trail.
    expect((await post('/v1/pipelines/tickets/quarantine/t-2005/discard', { by: 'ana' })).status).toBe(400);
    expect(await json(post('/v1/pipelines/tickets/quarantine/t-2005/discard', { by: 'ana', reason: 'test account' }))).toMatchObject({
      status: 'discarded',
    });
    expect((await record('t-2005')).status).toBe('discarded');

    // The CLI sees the same quarantine, releases with an edit from a file, and discards.
    const listed = await cli(['quarantine', 'list', '--pipeline', 'tickets', '--kind', 'new_enum_value', '--json']);
    expect(JSON.parse(listed.stdout).records.map((r: { id: string }) => r.id)).toEqual(['t-2000', 't-2001', 't-2002', 't-2006', 't-2007']);
    writeFileSync(path.join(dir, 'fixed.json'), JSON.stringify({ ...enterprise(2006), plan: 'free' }));
    const rel = await cli(['quarantine', 'release', 't-2006', '--pipeline', 'tickets', '--edit', 'fixed.json', '--by', 'li']);
    expect(rel.code).toBe(0);
    expect(rel.stdout).toContain('t-2006 released: received');
    const still = await cli(['quarantine', 'release', 't-2007', '--pipeline', 'tickets']);
    expect(still.code).toBe(1);
    expect(still.stdout).toContain('new_enum_value at /plan');
    const gone = await cli(['quarantine', 'discard', 't-2007', '--pipeline', 'tickets', '--reason', 'duplicate of t-2006']);
    expect(gone.code).toBe(0);
    await waitFor(async () => (await record('t-2006')).status === 'delivered', 30_000, 't-2006 to be delivered');
    expect((await record('t-2007')).status).toBe('discarded');
  }, 120_000);

  it('answers clear errors: deciding a pipeline that is not halted, releasing a record that is not quarantined', async () => {
    const res = await post('/v1/pipelines/tickets/halt/accept', {});
    expect(res.status).toBe(409);
    expect((await json(res)).detail).toBe('pipeline tickets is not halted');
    const rel = await post('/v1/pipelines/tickets/quarantine/t-1/release', {});
    expect(rel.status).toBe(409);
    expect((await json(rel)).detail).toBe('record t-1 is delivered, not quarantined');
    const cliRes = await cli(['contract', 'reject', '--pipeline', 'tickets']);
    expect(cliRes.code).not.toBe(0);
    expect(cliRes.stderr).toContain('pipeline tickets is not halted');
  });

  function helpdeskKey(id: string): string {
    for (const [k, r] of helpdesk.applied) if (r.recordId === id) return k;
    return '';
  }
});
