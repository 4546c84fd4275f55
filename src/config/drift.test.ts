import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { parseConfig } from './load.js';

const base = (drift: string) => `pipelines:
  tickets:
    model: { type: http, url: "http://127.0.0.1:9000/predict" }
${drift}`;

describe('the drift: block of a pipeline', () => {
  it('defaults to daily windows, 30-row minimum, alerts after 1 window, resolved after 2, a 1-day cooldown', () => {
    const c = parseConfig(base(''), { env: {} }).pipelines.tickets.drift;
    expect(c).toEqual({
      window: 'daily',
      windowMs: 86_400_000,
      referenceDays: 0,
      exclude: [],
      text: [],
      notText: [],
      share: 0.5,
      minRows: 30,
      fields: {},
      alert: { after: 1, resolveAfter: 2, cooldownMs: 86_400_000 },
    });
  });

  it('reads hourly windows, the go-live reference, per-field tests and the alert policy', () => {
    const c = parseConfig(
      base(`    drift:
      window: hourly
      reference_days: 7
      exclude: [created_at]
      fields: { amount: { test: psi, threshold: 0.2 }, notes: { skip: true } }
      alert: { after: 2, resolve_after: 3, cooldown: 6h }
`),
      { env: {} },
    ).pipelines.tickets.drift;
    expect(c).toMatchObject({
      window: 'hourly',
      windowMs: 3_600_000,
      referenceDays: 7,
      exclude: ['created_at'],
      fields: { amount: { test: 'psi', threshold: 0.2 }, notes: { skip: true } },
      alert: { after: 2, resolveAfter: 3, cooldownMs: 21_600_000 },
    });
  });

  it('names the path and what was expected for a wrong value', () => {
    const wrong = (drift: string) => {
      try {
        parseConfig(base(drift), { env: {} });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).message;
      }
      throw new Error('accepted');
    };
    expect(wrong('    drift: { window: weekly }\n')).toContain('pipelines.tickets.drift.window: expected hourly or daily');
    expect(wrong('    drift: { fields: { amount: { test: t_test } } }\n')).toContain('pipelines.tickets.drift.fields.amount.test');
    expect(wrong('    drift: { alert: { cooldown: soon } }\n')).toContain('a duration like 6h or 1d');
  });

  it('takes the public URL of the console for alert links, without a trailing slash', () => {
    const c = parseConfig(`server: { public_url: "https://airlock.example.com/" }\n${base('')}`, { env: {} });
    expect(c.server.publicUrl).toBe('https://airlock.example.com');
  });
});
