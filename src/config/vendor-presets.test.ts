// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the YAML holds ${ENV} references on purpose (the config expands them)
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.js';
import { parseConfig } from './load.js';

function destination(yaml: string, env: Record<string, string> = {}) {
  const text = `
pipelines:
  p:
    model: { type: http, url: "http://127.0.0.1:9000/predict" }
    destinations:
      d: ${yaml}
`;
  return parseConfig(text, { env }).pipelines.p.destinations.d;
}

describe('vendor presets in the config', () => {
  test('zendesk enterprise: 700/min, Basic {email}/token:{token} from ${ENV}', () => {
    const d = destination(
      '{ type: zendesk, plan: enterprise, url: "https://acme.zendesk.com/api/v2/tickets", email: a@acme.io, token: "${ZD}" }',
      {
        ZD: 's3cret',
      },
    );
    expect(d.rateLimit).toEqual({ count: 700, intervalMs: 60_000, text: '700/min' });
    expect(d.preset).toMatchObject({ vendor: 'zendesk', plan: 'enterprise' });
    expect(d.headers.authorization).toBe(`Basic ${Buffer.from('a@acme.io/token:s3cret').toString('base64')}`);
  });

  test('each zendesk plan carries its documented limit; the default plan is the smallest', () => {
    const perMinute = (plan?: string) =>
      destination(`{ type: zendesk, ${plan ? `plan: ${plan}, ` : ''}url: "https://x.zendesk.com/api/v2/tickets" }`).rateLimit?.count;
    expect([perMinute(), perMinute('growth'), perMinute('enterprise'), perMinute('enterprise_plus')]).toEqual([200, 400, 700, 2500]);
  });

  test('hubspot: 190 per 10 s plus a daily cap; stripe test mode 25/s and 409 retried; github secondary limits', () => {
    const h = destination('{ type: hubspot, plan: professional, url: "https://api.hubapi.com/crm/v3/objects/tickets", token: t }');
    expect(h.rateLimit?.text).toBe('190/10s');
    expect(h.extraLimits.map((r) => r.text)).toEqual(['625000/day']);
    expect(h.headers.authorization).toBe('Bearer t');
    const s = destination('{ type: stripe, plan: test, url: "https://api.stripe.com/v1/charges", api_key: sk_test_x }');
    expect(s.rateLimit?.text).toBe('25/s');
    expect(s.classification.retryOn).toContain(409);
    const g = destination('{ type: github, url: "https://api.github.com/repos/o/r/issues", token: ghp }');
    expect(g.rateLimit?.text).toBe('80/min');
    expect(g.classification.rateLimitStatuses).toEqual([403, 429]);
    expect(g.headers['x-github-api-version']).toBe('2022-11-28');
  });

  test('slack: 1/s and HTTP 200 with ok:false is a failure; the config may override the limit and add statuses', () => {
    const d = destination('{ type: slack, url: "https://slack.com/api/chat.postMessage", token: xoxb, rate_limit: 2/s, retry_on: [409] }');
    expect(d.rateLimit?.text).toBe('2/s');
    expect(d.classification.softFailure).toMatchObject({ field: 'ok', equals: false });
    expect(d.classification.retryOn).toEqual([409]);
  });

  test('a webhook without rate_limit is paced adaptively; soft_failure and dead_letter_on are read', () => {
    const d = destination('{ type: webhook, url: "http://h/x", dead_letter_on: [503], soft_failure: { field: status, equals: error } }');
    expect(d.rateLimit).toBeUndefined();
    expect(d.classification).toMatchObject({ deadLetterOn: [503], softFailure: { field: 'status', equals: 'error' } });
  });

  test('a plan the vendor does not have, or a plan on a webhook, is a config error naming the path', () => {
    expect(() => destination('{ type: zendesk, plan: gold, url: "https://x.zendesk.com/api" }')).toThrow(
      /destinations\.d\.plan: expected one of team, growth, professional, enterprise, enterprise_plus, got "gold"/,
    );
    expect(() => destination('{ type: webhook, plan: enterprise, url: "http://h/x" }')).toThrow(ConfigError);
  });
});
