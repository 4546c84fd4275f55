import { describe, expect, test } from 'vitest';
import { parseConfig } from '../load.js';
import { defaultCaseType } from './review.js';

const withCaseTypes = (caseTypes: string) =>
  `pipelines:\n  tickets:\n    model: { type: http, url: "http://127.0.0.1:9000/" }\n    review:\n      case_types: ${caseTypes}\n`;

describe('case types', () => {
  test('a built-in case type the config does not name has the defaults of one it names without settings', () => {
    const named = parseConfig(withCaseTypes('{ low_confidence: {} }'), { env: {} }).pipelines.tickets.review.caseTypes.low_confidence;
    expect(defaultCaseType()).toEqual({ ...named, configured: false });
    expect(defaultCaseType()).toMatchObject({
      priority: 'normal',
      slaHours: 'calendar',
      reviews: { required: 1, agreement: 'unanimous' },
      actions: { reviewer: ['approve', 'relabel', 'reject', 'request_info', 'escalate'] },
      limits: [],
    });
  });

  test('each default case type is a fresh value: changing one changes no other', () => {
    const a = defaultCaseType();
    a.actions.reviewer.push('approve');
    a.reviews.required = 3;
    expect(defaultCaseType().actions.reviewer).toHaveLength(5);
    expect(defaultCaseType().reviews.required).toBe(1);
  });

  test('sla: 4h counts calendar time; the mapping form takes hours and a first-action target', () => {
    const c = parseConfig(
      withCaseTypes(
        '{ a: { sla: 4h }, b: { sla: { first_action: 30m, resolution: 1d, hours: business } }, c: { sla: { resolution: 2h } } }',
      ),
      { env: {} },
    ).pipelines.tickets.review.caseTypes;
    expect(c.a).toMatchObject({ slaMs: 4 * 3_600_000, slaHours: 'calendar' });
    expect(c.b).toMatchObject({ slaMs: 86_400_000, firstActionMs: 1_800_000, slaHours: 'business' });
    expect(c.c).toMatchObject({ slaMs: 2 * 3_600_000, slaHours: 'calendar' });
  });

  test('a limit applies to approve and relabel unless it names its actions', () => {
    const c = parseConfig(
      withCaseTypes('{ a: { limits: [{ field: amount, reviewer: 500 }, { field: n, actions: [reject], lead: 1 }] } }'),
      {
        env: {},
      },
    ).pipelines.tickets.review.caseTypes.a;
    expect(c.limits).toEqual([
      { field: 'amount', actions: ['approve', 'relabel'], max: { reviewer: 500 } },
      { field: 'n', actions: ['reject'], max: { lead: 1 } },
    ]);
  });
});
