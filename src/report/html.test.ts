import { describe, expect, test } from 'vitest';
import { escapeHtml, htmlFigure, htmlKeyValues, htmlList, htmlPage, htmlTable, numberCell, svgImage } from './html.js';

const evil = `<script>alert("x" & 'y')</script>`;
const escaped = '&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;';

describe('the report shell', () => {
  test('escapes the five characters that matter in element content and attribute values', () => {
    expect(escapeHtml(evil)).toBe(escaped);
    expect(escapeHtml(42)).toBe('42');
    expect(escapeHtml(null)).toBe('null');
  });

  test('a page is one self-contained file: its style inline, no script, nothing loaded from elsewhere', () => {
    const page = htmlPage({ title: evil, body: '<h1>Report</h1>' });
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain(`<title>${escaped}</title>`);
    expect(page).toContain('<style>');
    expect(page).not.toMatch(/<script|<link|\b(src|href)\s*=|@import|url\(|https?:\/\//i);
    expect(page.match(/<style>/g)).toHaveLength(1);
  });

  test('what the helpers are told as text they escape; what they are given as HTML they keep', () => {
    const table = htmlTable([evil, 'n'], [['<b>kept</b>', numberCell(3)], { class: 'flag', cells: ['x', numberCell('4')] }]);
    expect(table).toContain(`<th>${escaped}</th>`);
    expect(table).toContain('<td><b>kept</b></td><td class="n">3</td>');
    expect(table).toContain('<tr class="flag"><td>x</td><td class="n">4</td></tr>');
    expect(htmlFigure('<svg></svg>', evil)).toContain(`<figcaption>${escaped}</figcaption>`);
    expect(svgImage({ width: 10, height: 20, label: evil }, '<rect/>')).toBe(
      `<svg viewBox="0 0 10 20" width="10" height="20" role="img" aria-label="${escaped}"><rect/></svg>`,
    );
    expect(svgImage({ width: 900, height: 160, label: 'chart', fluid: true }, '')).toContain('viewBox="0 0 900 160" width="100%"');
    expect(htmlKeyValues([[evil, '<i>1</i>']])).toContain(`<th>${escaped}</th><td><i>1</i></td>`);
    expect(htmlList([])).toBe('');
    expect(htmlList(['a', 'b'], { class: 'bad' })).toBe('<ul class="bad"><li>a</li><li>b</li></ul>');
    expect(htmlList(['first'], { ordered: true })).toBe('<ol><li>first</li></ol>');
  });
});
