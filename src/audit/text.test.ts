import { describe, expect, test } from 'vitest';
import { hasMojibake, textIssues } from './text.js';

// The mojibake examples are made the way it happens: UTF-8 bytes decoded as Windows-1252 (WHATWG decoder).
const asCp1252 = (s: string) => new TextDecoder('windows-1252').decode(Buffer.from(s, 'utf8'));

describe('textIssues', () => {
  test('clean text has none', () => {
    for (const s of [
      'Hello, world',
      'Café au lait',
      'naïve — “quoted”',
      'Ünïcödé 日本語 😀',
      'SÃO PAULO',
      'a < b and c > d',
      'line\nbreak\ttab',
    ])
      expect(textIssues(s)).toEqual([]);
  });

  test('finds mojibake: UTF-8 read as Windows-1252', () => {
    for (const s of ['café', 'it’s', '“quoted”', 'Zürich', 'naïve résumé', '日本']) {
      const broken = asCp1252(s);
      expect(broken).not.toBe(s);
      expect(hasMojibake(broken)).toBe(true);
      expect(textIssues(broken)).toContain('mojibake');
    }
    expect(hasMojibake('Ã©')).toBe(true);
    expect(hasMojibake('â€™')).toBe(true);
  });

  test('finds U+FFFD, control characters, outer whitespace and HTML', () => {
    expect(textIssues('caf\uFFFD')).toEqual(['replacement_character']);
    expect(textIssues('a\u0000b')).toEqual(['control_characters']);
    expect(textIssues('a\u0085b')).toEqual(['control_characters']);
    expect(textIssues(' padded ')).toEqual(['leading_trailing_whitespace']);
    expect(textIssues('   ')).toEqual([]);
    expect(textIssues('<p>Hello</p>')).toEqual(['html']);
    expect(textIssues('Tom &amp; Jerry')).toEqual(['html']);
    expect(textIssues('x &#233; y')).toEqual(['html']);
    expect(textIssues('<br/>')).toEqual(['html']);
  });
});
