import { describe, expect, it } from 'vitest';
import { slaLevel } from '../../web/src/sla.js';

const H = 3_600_000;
const opened = Date.UTC(2026, 10, 30, 9);
const caseDue = (dueInMs: number | null, extra: { paused?: boolean; breached?: boolean } = {}) => ({
  created_at: new Date(opened).toISOString(),
  sla: { due_at: dueInMs === null ? null : new Date(opened + dueInMs).toISOString(), paused: false, breached: false, ...extra },
});

describe('the SLA countdown colour of a case', () => {
  it('is green with more than a quarter of a 4 h SLA left, amber under a quarter (1 h), red once due', () => {
    const c = caseDue(4 * H);
    expect(slaLevel(c, opened + 2 * H)).toBe('ok');
    expect(slaLevel(c, opened + 3 * H - 1000)).toBe('ok');
    expect(slaLevel(c, opened + 3 * H + 1000)).toBe('amber');
    expect(slaLevel(c, opened + 4 * H)).toBe('red');
    expect(slaLevel(c, opened + 5 * H)).toBe('red');
  });

  it('is amber in the last 15 minutes of a short SLA too, and red when the server says it is breached', () => {
    const halfHour = caseDue(30 * 60_000);
    expect(slaLevel(halfHour, opened + 10 * 60_000)).toBe('ok');
    expect(slaLevel(halfHour, opened + 20 * 60_000)).toBe('amber');
    // A first-action deadline can be breached long before the resolution deadline.
    expect(slaLevel(caseDue(4 * H, { breached: true }), opened + H)).toBe('red');
  });

  it('has no colour without an SLA, and is paused while the case waits for information', () => {
    expect(slaLevel(caseDue(null), opened)).toBe('none');
    expect(slaLevel(caseDue(H, { paused: true }), opened + 2 * H)).toBe('paused');
  });
});
