/**
 * Features of free text that drift when the text does: its length, its share of non-ASCII characters, its character
 * set, and its words. A summary keeps them for string fields flagged as text, as derived fields named
 * `FIELD.length`, `FIELD.non_ascii`, `FIELD.charset` and `FIELD.tokens`.
 */

/** Characters (code points), not UTF-16 units. */
export function textLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Share of code points above U+007F (0 for the empty string). */
export function nonAsciiShare(s: string): number {
  let n = 0;
  let other = 0;
  for (const ch of s) {
    n++;
    if (ch.codePointAt(0)! > 0x7f) other++;
  }
  return n ? other / n : 0;
}

/** UTF-8 read as Latin-1/Windows-1252 (Ã©, â€™, Â ) or a replacement character: text broken on its way in. */
const MOJIBAKE = /\uFFFD|Ã[\u0080-\u00BF]|â€|Â[\u00A0-\u00BF ]/;

export type Charset = 'empty' | 'ascii' | 'latin' | 'other' | 'mojibake';

/** A coarse character-set class: ascii, latin (Latin-1 and Latin Extended), other scripts, or mojibake. */
export function charsetOf(s: string): Charset {
  if (s.length === 0) return 'empty';
  if (MOJIBAKE.test(s)) return 'mojibake';
  let latin = true;
  let ascii = true;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c > 0x7f) ascii = false;
    if (c > 0x24f && !(c >= 0x2000 && c <= 0x206f)) latin = false;
  }
  return ascii ? 'ascii' : latin ? 'latin' : 'other';
}

const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

/** Lower-cased runs of letters and digits (an apostrophe inside a word is kept: don't, l’été). */
export function tokenize(s: string): string[] {
  return s.toLowerCase().match(TOKEN) ?? [];
}

/**
 * Out-of-vocabulary rate: the share of the current tokens that are not in the reference vocabulary. `vocabulary` is
 * the set of tokens the reference summary kept; `current` maps token → count, `currentTotal` counts every current
 * token (also those a bounded summary no longer lists, which count as out of vocabulary).
 */
export function outOfVocabularyRate(vocabulary: ReadonlySet<string>, current: Iterable<[string, number]>, currentTotal: number): number {
  if (currentTotal <= 0) return 0;
  let known = 0;
  for (const [t, c] of current) if (vocabulary.has(t)) known += c;
  return Math.max(0, 1 - known / currentTotal);
}

/** Whether a string field looks like free text rather than a category: mostly distinct values, or several words each. */
export function looksLikeText(values: readonly string[]): boolean {
  if (values.length === 0) return false;
  const distinct = new Set(values).size;
  let tokens = 0;
  for (const v of values) tokens += tokenize(v).length;
  const meanTokens = tokens / values.length;
  return (distinct > 20 && distinct / values.length > 0.5) || meanTokens >= 5;
}
