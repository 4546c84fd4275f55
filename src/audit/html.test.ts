import { describe, expect, test } from 'vitest';
import { compareProfiles } from './compare.js';
import { auditReportHtml } from './html.js';
import { Profiler } from './profile.js';

describe('auditReportHtml', () => {
  const p = new Profiler({ timeField: 'at' });
  const evil = '<script>alert("x")</script>';
  for (let i = 0; i < 200; i++)
    p.add({ at: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`, [evil]: evil, n: i, s: `v${i % 5}` }, { row: i + 1 });
  const profile = p.result();
  const html = auditReportHtml({
    ...profile,
    source: { file: 'a<b>.jsonl', format: 'jsonl', compressed: false, bytes: 1000 },
    comparison: compareProfiles(profile, profile),
    generated_at: '2024-05-01T00:00:00Z',
  });

  test('escapes every record value, field name and file name', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('a&lt;b&gt;.jsonl');
  });

  test('is one self-contained page with inline SVG charts and no external asset', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('Time (at)');
    expect(html).toContain('Compared with the baseline');
  });
});
