import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { backends, createTestDatabase } from './support/databases.js';
import { startModelServer, startReceiver, waitFor } from './support/servers.js';

/**
 * A webhook destination whose body is a template over the record and its decision: the helpdesk receives exactly the
 * body it asked for (numbers stay numbers, objects stay objects), a record that lacks a field the template needs is
 * dead-lettered with that field named, and a template path the contract rules out stops the config from loading.
 */

const contract = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'subject', 'customer'],
  properties: {
    id: { type: 'string' },
    subject: { type: 'string' },
    confidence: { type: 'number' },
    customer: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, plan: { type: 'string' } } },
  },
};

const yaml = (modelUrl: string, hookUrl: string, body: string) => `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: error }
pipelines:
  tickets:
    contract: ${JSON.stringify(contract)}
    model: { type: http, url: "${modelUrl}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      helpdesk:
        type: webhook
        url: "${hookUrl}"
        rate_limit: 200/s
        body: ${body}
`;

const TEMPLATE = `{ ticket: { subject: "[{{decision.label}}] {{record.subject}}", priority: "{{decision.label}}", requester_id: "{{record.customer.id}}", plan: "{{record.customer.plan}}", customer: "{{record.customer}}", external_id: "{{meta.record_id}}" } }`;

describe('config check of body templates', () => {
  it('names the path in the file and what is wrong with the placeholder', () => {
    const bad = `{ ticket: { subject: "{{record.sujet}}", via: "{{decision.channel}}", code: "{{record.subject | upper}}" } }`;
    let error: unknown;
    try {
      parseConfig(yaml('http://127.0.0.1:1/predict', 'http://127.0.0.1:1/hook', bad), { database: 'sqlite::memory:' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const messages = (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual([
      "pipelines.tickets.destinations.helpdesk.body.ticket.subject: {{record.sujet}}: the pipeline's contract has no sujet",
      'pipelines.tickets.destinations.helpdesk.body.ticket.via: {{decision.channel}}: a decision has label, source, at, case_id, by, confidence, raw_confidence, routing_version',
      'pipelines.tickets.destinations.helpdesk.body.ticket.code: {{record.subject | upper}}: "subject | upper" is not a field name or an array index',
    ]);
  });
});

describe.concurrent('a webhook with a body template', () => {
  for (const backend of backends) {
    it(`sends the templated body, keeps value types, and dead-letters a record that lacks a field (${backend})`, {
      timeout: 60_000,
    }, async () => {
      const database = await createTestDatabase(backend);
      const model = await startModelServer((rec) => ({
        body: { label: rec.subject === 'refund' ? 'billing' : 'support', confidence: 0.99 },
      }));
      const hook = await startReceiver();
      const config = parseConfig(yaml(model.url, hook.url, TEMPLATE), { database: database.url });
      const server = await createServer(config, { logger: createLogger('error') });
      try {
        const base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
        const records = [
          { id: 't-1', subject: 'refund', customer: { id: 7, plan: 'pro' } },
          { id: 't-2', subject: 'printer', customer: { id: 8, plan: 'free' } },
          // No plan: the template's {{record.customer.plan}} cannot be filled.
          { id: 't-3', subject: 'login', customer: { id: 9 } },
        ];
        const r = await server.airlock.ingestor.ingest('tickets', records);
        expect(r.accepted.length).toBe(3);
        const { db } = server.airlock.runtime.store;
        await waitFor(
          async () =>
            (await db.selectFrom('records').select('status').execute()).filter(
              (x) => x.status === 'delivered' || x.status === 'dead_lettered',
            ).length === 3,
          30_000,
          `[${backend}] every record delivered or dead-lettered`,
        );
        const byId = new Map(hook.requests.map((q) => [q.recordId, q.body as unknown]));
        expect(byId.get('t-1')).toEqual({
          ticket: {
            subject: '[billing] refund',
            priority: 'billing',
            requester_id: 7,
            plan: 'pro',
            customer: { id: 7, plan: 'pro' },
            external_id: 't-1',
          },
        });
        expect(byId.get('t-2')).toMatchObject({ ticket: { subject: '[support] printer', requester_id: 8, plan: 'free' } });
        // Nothing was sent for t-3: it waits in the dead letters, saying which placeholder it lacks.
        expect(byId.has('t-3')).toBe(false);
        const list = (await (await fetch(`${base}/v1/dead-letters?pipeline=tickets`)).json()) as {
          dead_letters: { id: number; record_id: string; last_error: string }[];
        };
        expect(list.dead_letters.map((d) => [d.record_id, d.last_error])).toEqual([
          ['t-3', 'the body template needs {{record.customer.plan}}, which this record does not have'],
        ]);
        // Inspected, the dead letter shows no request body: the template cannot be rendered for this record.
        const shown = (await (await fetch(`${base}/v1/dead-letters/${list.dead_letters[0].id}`)).json()) as { request: { body: unknown } };
        expect(shown.request.body).toBeNull();
      } finally {
        await server.close();
        await hook.close();
        await model.close();
        await database.drop();
      }
    });
  }
});
