/** Text problems found in a decoded string value. Byte-level problems (invalid UTF-8, BOM, line endings) come from the reader. */
export const TEXT_ISSUES = ['replacement_character', 'mojibake', 'control_characters', 'leading_trailing_whitespace', 'html'] as const;
export type TextIssue = (typeof TEXT_ISSUES)[number];

/** Every issue kind of an audit: the text issues above, the reader's byte-level ones, and the row-level ones. */
export type IssueKind =
  | TextIssue
  | 'invalid_utf8'
  | 'byte_order_mark'
  | 'mixed_line_endings'
  | 'unparseable'
  | 'not_an_object'
  | 'duplicate_rows'
  | 'duplicate_keys'
  | 'missing_key'
  | 'mixed_types'
  | 'short_time_span'
  | 'time_gaps'
  | 'unparseable_time';

// A quick pre-filter: a string without any of these characters (and without outer whitespace) has no text issue.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const SUSPECT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00C2-\u00EF\uFFFD<&]/;
// C0 controls other than tab, LF and CR; DEL; C1 controls (Unicode general category Cc).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// An HTML tag (<p>, </div>, <br/>, <a href=…>) or a character reference (&amp; &#233; &#xE9;), per the WHATWG tokenizer's shapes.
const HTML = /<\/?[a-z][a-z0-9-]*(?:\s[^<>]*)?\/?>|&(?:[a-z][a-z0-9]{1,31}|#\d{1,7}|#x[0-9a-f]{1,6});/i;

/**
 * The Windows-1252 byte of each character that is not Latin-1 (0x80–0x9F); the other characters ≤ U+00FF are their own byte
 * (WHATWG Encoding Standard, index windows-1252).
 */
const CP1252_HIGH: Record<number, number> = {
  8364: 0x80,
  8218: 0x82,
  402: 0x83,
  8222: 0x84,
  8230: 0x85,
  8224: 0x86,
  8225: 0x87,
  710: 0x88,
  8240: 0x89,
  352: 0x8a,
  8249: 0x8b,
  338: 0x8c,
  381: 0x8e,
  8216: 0x91,
  8217: 0x92,
  8220: 0x93,
  8221: 0x94,
  8226: 0x95,
  8211: 0x96,
  8212: 0x97,
  732: 0x98,
  8482: 0x99,
  353: 0x9a,
  8250: 0x9b,
  339: 0x9c,
  382: 0x9e,
  376: 0x9f,
};
const CONT =
  '[\\u0080-\\u00BF\\u20AC\\u201A\\u0192\\u201E\\u2026\\u2020\\u2021\\u02C6\\u2030\\u0160\\u2039\\u0152\\u017D\\u2018\\u2019\\u201C\\u201D\\u2022\\u2013\\u2014\\u02DC\\u2122\\u0161\\u203A\\u0153\\u017E\\u0178]';
// A UTF-8 lead byte (C2–DF or E0–EF) followed by continuation bytes, each read as Windows-1252/Latin-1 ("Ã©", "â€™").
const MOJIBAKE_CANDIDATE = new RegExp(`[\\u00C2-\\u00DF]${CONT}|[\\u00E0-\\u00EF]${CONT}{2}`, 'g');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `s` (a candidate match) is UTF-8 bytes that were decoded as Windows-1252 or Latin-1: re-encode and decode. */
function isUtf8ReadAsCp1252(s: string): boolean {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const b = c <= 0xff ? c : CP1252_HIGH[c];
    if (b === undefined) return false;
    bytes[i] = b;
  }
  try {
    const decoded = utf8.decode(bytes);
    return decoded.length < s.length;
  } catch {
    return false;
  }
}

/** Whether the text holds mojibake: UTF-8 read as Latin-1/CP1252, confirmed by re-encoding the suspicious run (as ftfy does). */
export function hasMojibake(s: string): boolean {
  MOJIBAKE_CANDIDATE.lastIndex = 0;
  for (let m = MOJIBAKE_CANDIDATE.exec(s); m; m = MOJIBAKE_CANDIDATE.exec(s)) {
    if (isUtf8ReadAsCp1252(m[0])) return true;
  }
  return false;
}

/** The text issues of one string value (empty for most values: one regex decides that). */
export function textIssues(s: string): TextIssue[] {
  const n = s.length;
  if (n === 0) return [];
  const outer = isSpace(s.charCodeAt(0)) || isSpace(s.charCodeAt(n - 1));
  if (!outer && !SUSPECT.test(s)) return [];
  const out: TextIssue[] = [];
  if (s.includes('\uFFFD')) out.push('replacement_character');
  if (hasMojibake(s)) out.push('mojibake');
  if (CONTROL.test(s)) out.push('control_characters');
  if (outer && s.trim().length > 0) out.push('leading_trailing_whitespace');
  if ((s.includes('<') || s.includes('&')) && HTML.test(s)) out.push('html');
  return out;
}

function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0xfeff ||
    c === 0x2028 ||
    c === 0x2029 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x3000
  );
}
