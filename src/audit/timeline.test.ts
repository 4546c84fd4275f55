import { describe, expect, test } from 'vitest';
import reference from '../../test/fixtures/audit/reference.json' with { type: 'json' };
import { Profiler } from './profile.js';
import { normalTwoSided, twoProportionZ } from './timeline.js';

const DAY = 86_400_000;
const start = Date.UTC(2024, 0, 1);

describe('twoProportionZ', () => {
  test.each(reference.statistics.two_proportion)('$x1/$n1 vs $x2/$n2 equals SciPy (√χ² of the 2×2 table)', (r) => {
    const z = twoProportionZ(r.x1, r.n1, r.x2, r.n2);
    expect(z).toBeCloseTo(r.z, 10);
    expect(normalTwoSided(z)).toBeCloseTo(r.p_value, 10);
  });
});

describe('time span and changes inside the sample', () => {
  test('a 120-day sample whose date format and missing rate change on day 60 reports both, with the date', () => {
    const p = new Profiler({ timeField: 'at' });
    let row = 0;
    for (let d = 0; d < 120; d++) {
      for (let k = 0; k < 20; k++) {
        const t = new Date(start + d * DAY + k * 3_600_000);
        const late = d >= 60;
        const rec: Record<string, unknown> = {
          at: t.toISOString(),
          order_date: late ? `${t.getUTCMonth() + 1}/${t.getUTCDate()}/${t.getUTCFullYear()}` : t.toISOString().slice(0, 10),
          amount: k,
        };
        if (!(late && k % 2 === 0)) rec.coupon = 'X';
        p.add(rec, { row: ++row });
      }
    }
    const t = p.result().time!;
    expect(t.span_days).toBe(119.79);
    expect(t.warnings).toEqual([]);
    const byField = Object.fromEntries(t.changes.map((c) => [`${c.field} ${c.metric.split(':')[0]}`, c]));
    expect(byField['order_date format'].changed_at).toBe('2024-03-01');
    expect(byField['order_date format'].before).toBe(1);
    expect(byField['coupon missing_rate']).toMatchObject({
      changed_at: '2024-03-01',
      before: 0,
      after: 0.5,
      rows_before: 1200,
      rows_after: 1200,
    });
    expect(t.changes.some((c) => c.field === 'amount')).toBe(false);
  });

  test('a short sample with a hole in it is flagged as short and looking filtered', () => {
    const p = new Profiler({ timeField: 'at' });
    let row = 0;
    for (let d = 0; d < 30; d++) {
      if (d >= 10 && d < 15) continue;
      for (let k = 0; k < 10; k++) p.add({ at: (start + d * DAY) / 1000 + k }, { row: ++row });
    }
    p.add({ at: 'not a date' }, { row: ++row });
    const r = p.result();
    expect(r.time?.span_days).toBeLessThan(90);
    expect(r.time?.gaps[0]).toEqual({ start: '2024-01-11', days: 5 });
    expect(r.issues.map((i) => i.kind)).toEqual(expect.arrayContaining(['short_time_span', 'time_gaps', 'unparseable_time']));
  });
});
