// The workload shared by both benchmarks: the contract, realistic support-ticket records, and the Airlock
// config that points a pipeline at that contract. Nothing here is timed.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../dist/index.js';

/** The quickstart's ticket contract (examples/quickstart/contracts/ticket.schema.json) widened to 8 fields. */
export const TICKET_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Support ticket',
  type: 'object',
  required: ['id', 'subject', 'body', 'customer_email'],
  properties: {
    id: { type: 'string', minLength: 1 },
    subject: { type: 'string', maxLength: 200 },
    body: { type: 'string' },
    customer_email: { type: 'string', format: 'email' },
    plan: { enum: ['free', 'pro', 'enterprise'] },
    created_at: { type: 'string', format: 'date-time' },
    channel: { enum: ['email', 'chat', 'web', 'phone'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 32 }, maxItems: 10 },
  },
};

const SUBJECTS = [
  'Cannot log in',
  'App crash on upload',
  'Refund for double charge',
  'Question about my invoice',
  'Feature request: dark mode',
  'Password reset email never arrives',
  'Export to CSV fails with error 500',
  'How do I change my billing card?',
];
const WORDS =
  'the page shows an error every time I try to upload a file and my account was charged twice this month please help me reset the password because the login is locked after the update it is broken could you add an export option for invoices thanks'.split(
    ' ',
  );
const PLANS = ['free', 'pro', 'enterprise'];
const CHANNELS = ['email', 'chat', 'web', 'phone'];
const TAGS = ['billing', 'bug', 'account', 'feature', 'urgent', 'mobile', 'web', 'api'];

/** A deterministic pseudo-random generator (mulberry32), so every run sends the same data. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One ticket: 8 fields, a body of 20–60 words (~100–350 bytes), valid under TICKET_SCHEMA. */
export function ticket(id, rand) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const n = 20 + Math.floor(rand() * 40);
  const words = [];
  for (let i = 0; i < n; i++) words.push(pick(WORDS));
  const tags = [];
  for (let i = Math.floor(rand() * 3); i > 0; i--) tags.push(pick(TAGS));
  return {
    id,
    subject: pick(SUBJECTS),
    body: words.join(' '),
    customer_email: `customer${Math.floor(rand() * 100000)}@example.com`,
    plan: pick(PLANS),
    created_at: new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 3e10)).toISOString(),
    channel: pick(CHANNELS),
    tags,
  };
}

/** `count` records as NDJSON texts of `batchSize` lines each; ids are `${prefix}-${n}`. */
export function ndjsonBatches(prefix, count, batchSize, seed = 1) {
  const rand = rng(seed);
  const batches = [];
  for (let start = 0; start < count; start += batchSize) {
    const lines = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) lines.push(JSON.stringify(ticket(`${prefix}-${i}`, rand)));
    batches.push(`${lines.join('\n')}\n`);
  }
  return batches;
}

/** One ticket as a JSON text whose id is the placeholder `[<id>]` (replaced per request). */
export function singleTicketTemplate() {
  return JSON.stringify(ticket('[<id>]', rng(7)));
}

export const PIPELINE = 'tickets';

/**
 * An Airlock config with one pipeline `tickets` gated by TICKET_SCHEMA, stored at `database`. The model is a
 * constant stub written into `dir` (the workers are never started, so it is never called).
 */
export function benchConfig(dir, database) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.mjs'), "export function predict() { return { label: 'bug', confidence: 0.99 }; }\n");
  const yaml = JSON.stringify({
    database,
    server: { host: '127.0.0.1', port: 0, body_limit: '10mb', auth: 'off' },
    logging: { level: 'error' },
    pipelines: {
      [PIPELINE]: {
        contract: TICKET_SCHEMA,
        model: { type: 'module', path: './model.mjs' },
        routing: { auto_accept_at: 0.9 },
      },
    },
  });
  return parseConfig(yaml, { dir, env: {} });
}
