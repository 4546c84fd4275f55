/**
 * The baseline's featuriser: a text as the hashed counts of its word n-grams. The same for training and
 * prediction, fixed by the model's `version`:
 * - Text → Unicode NFKC → lower case (`String.prototype.toLowerCase`, the locale-independent Unicode default
 *   full case mapping, final sigma included — as Python's `str.lower`).
 * - Tokens: the maximal runs of letters, marks, numbers and connector punctuation (general categories L, M,
 *   N and Pc — so `foo_bar` and `naïve` are one token each, `don't` is `don` + `t`, emoji and symbols split).
 * - Features: the word n-grams for n = 1 … `ngrams` (default 2: unigrams and bigrams), n tokens joined by
 *   one space (a token never holds a space, so an n-gram never collides with a token by construction).
 * - Feature hashing (Weinberger et al. 2009, without the sign hash, as sklearn's
 *   `HashingVectorizer(alternate_sign=False)`): bucket = FNV-1a 32-bit (offset basis 2166136261, prime
 *   16777619; Fowler, Noll & Vo) of the feature's UTF-8 bytes, modulo `buckets` (default 2^18 = 262,144).
 *   A document is the vector x of its bucket counts.
 */

const WORD = /[\p{L}\p{M}\p{N}\p{Pc}]+/gu;

/** Lower-cased Unicode word tokens of a text (this file's comment). */
export function tokenize(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The word n-grams for n = 1 … ngrams, each the n tokens joined by one space: unigrams first, then bigrams … */
export function ngramFeatures(tokens: readonly string[], ngrams: number): string[] {
  const out: string[] = [];
  for (let n = 1; n <= ngrams; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(n === 1 ? tokens[i] : tokens.slice(i, i + n).join(' '));
  }
  return out;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32-bit, of the UTF-8 bytes of `text` (lone surrogates encode as U+FFFD, as TextEncoder does). */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_BASIS;
  const byte = (b: number) => {
    h = Math.imul(h ^ b, FNV_PRIME);
  };
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    if (cp < 0x80) {
      byte(cp);
    } else if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
      byte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    }
  }
  return h >>> 0;
}

/** A document's hashed feature counts: distinct buckets ascending, and their counts. */
export interface HashedCounts {
  buckets: Int32Array;
  counts: Float64Array;
}

/** The bucket counts of a text: its n-gram features hashed into `buckets` buckets (this file's comment). */
export function hashedCounts(text: string, ngrams: number, buckets: number): HashedCounts {
  const features = ngramFeatures(tokenize(text), ngrams);
  const hashed = new Int32Array(features.length);
  for (let i = 0; i < features.length; i++) hashed[i] = fnv1a32(features[i]) % buckets;
  hashed.sort();
  let distinct = 0;
  for (let i = 0; i < hashed.length; i++) if (i === 0 || hashed[i] !== hashed[i - 1]) distinct++;
  const out: HashedCounts = { buckets: new Int32Array(distinct), counts: new Float64Array(distinct) };
  let j = -1;
  for (let i = 0; i < hashed.length; i++) {
    if (i === 0 || hashed[i] !== hashed[i - 1]) out.buckets[++j] = hashed[i];
    out.counts[j]++;
  }
  return out;
}
