import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALERTS, type AlertName, alertOf } from './catalog.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every source file of Airlock except tests and the catalog itself. */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && p !== path.join(SRC, 'alerts', 'catalog.ts') ? [p] : [];
  });
}

describe('the alert catalog', () => {
  it('has every entry raised somewhere in Airlock, and nothing raised outside it', () => {
    const raised = new Set<string>();
    const adHoc: string[] = [];
    for (const file of sources()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/alertOf\(\s*'([a-z_]+)'/g)) raised.add(m[1]);
      // An alert raised from an object literal would bypass the catalog (and the runbook).
      if (/\.raise\(\s*\{/.test(text)) adHoc.push(path.relative(SRC, file));
    }
    expect([...raised].sort()).toEqual(Object.keys(ALERTS).sort());
    expect(adHoc).toEqual([]);
  });

  it('gives one condition one key, so a repeat is counted rather than sent again', () => {
    const breaker = (destination: string) => alertOf('breaker_open', { pipeline: 'tickets', destination, openMs: 30_000 });
    expect(breaker('crm').key).toBe(breaker('crm').key);
    expect(breaker('crm').key).not.toBe(breaker('billing').key);
    const drift = {
      pipeline: 'tickets',
      field: 'subject',
      episode: 1,
      span: '…',
      measure: '…',
      records: 10,
      link: '',
      fields: { test: 'psi', statistic: 0.3, threshold: 0.2, window_start: '2026-01-01T00:00:00.000Z' },
    };
    // The end of a drift episode is an alert of its own, not a repeat of its start.
    expect(alertOf('drift', drift).key).not.toBe(alertOf('drift_resolved', { ...drift, resolveAfter: 2 }).key);
    expect(alertOf('drift', drift).severity).toBe('warning');
    expect(alertOf('drift_resolved', { ...drift, resolveAfter: 2 }).severity).toBe('info');
  });

  it('writes a playbook for every alert with what it means, who acts and what to do', () => {
    for (const name of Object.keys(ALERTS) as AlertName[]) {
      const p = ALERTS[name].playbook({ pipeline: 'tickets', ownersOf: (t) => `tickets: owner of ${t}` });
      expect(p.means.length, name).toBeGreaterThan(20);
      expect(p.owner.length, name).toBeGreaterThan(0);
      expect(p.steps.length, name).toBeGreaterThan(0);
    }
  });
});
