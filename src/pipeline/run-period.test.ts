import { describe, expect, it } from 'vitest';
import { RunPeriod } from './run-period.js';

describe('RunPeriod', () => {
  it('runs at once, then not again until the period is over', () => {
    const p = new RunPeriod(5_000);
    expect(p.waitMs(1_000_000)).toBe(0);
    expect(p.waitMs(1_001_000)).toBe(4_000);
    expect(p.waitMs(1_005_000)).toBe(0);
  });

  it('runs now when the clock went back past the last run, instead of waiting for it to catch up', () => {
    const p = new RunPeriod(60_000);
    expect(p.waitMs(10 * 3_600_000)).toBe(0);
    // An hour back: without the fix the stage would wait an hour and a minute.
    expect(p.waitMs(9 * 3_600_000)).toBe(0);
    // From there the period counts again.
    expect(p.waitMs(9 * 3_600_000 + 30_000)).toBe(30_000);
  });
});
