/**
 * Formats detected in field values. A value may have several (the string "1700000000" is a number-in-a-string
 * and epoch seconds); every detector is a whole-value match, never a search inside a longer text.
 */
export const FORMATS = [
  'iso_date',
  'iso_datetime',
  'rfc2822_datetime',
  'us_date',
  'eu_date',
  'us_or_eu_date',
  'text_date',
  'epoch_seconds',
  'epoch_ms',
  'email',
  'url',
  'uuid',
  'phone',
  'currency_amount',
  'numeric_string',
] as const;
export type FormatName = (typeof FORMATS)[number];

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const monthIndex = (name: string): number => MONTHS.indexOf(name.slice(0, 3).toLowerCase());

/** Epoch seconds between 2000-01-01 and 2100-01-01: plausible timestamps, not counts or ids of other sizes. */
const EPOCH_S_MIN = 946_684_800;
const EPOCH_S_MAX = 4_102_444_800;

// ISO 8601 calendar date and date-time (RFC 3339 profile, space allowed for T, zone optional).
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
// RFC 2822 §3.3 date-time, with obsolete zones (UT, GMT, EST…) and a trailing comment, as mail carries it.
const RFC2822 =
  /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s*)?(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]?\d{4}|ut|gmt|[ecmp][sd]t|z)?(?:\s*\(.*\))?$/i;
// Numeric day/month dates: M/D/Y (US) or D/M/Y, D.M.Y (EU); which one when both readings are valid is unknown.
const SLASH_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})$/;
const DOT_DATE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;
// "Jun 12 1998", "June 12, 1998", "12 June 1998" (no time).
const TEXT_DATE_MDY = /^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})$/i;
const TEXT_DATE_DMY = /^(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})$/i;
// Pragmatic email: one @, no spaces or angle brackets, a dotted domain with a 2+ letter TLD (not full RFC 5322).
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[a-z]{2,}$/i;
const URL_RE = /^(?:https?|ftp):\/\/[^\s/$.?#][^\s]*$/i;
// RFC 9562 textual form (any version, nil included).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A phone number: optional +, 7–15 digits (E.164's maximum) with spaces, dots, dashes or parentheses between.
const PHONE = /^\+?[\d\s().-]{7,24}$/;
// An amount with a currency symbol or ISO 4217 code before or after it: "$1,234.50", "12,50 €", "EUR 12".
const CURRENCY =
  /^(?:[-+]?\s*(?:[$€£¥₹]|usd|eur|gbp|jpy|chf|cad|aud)\s*[-+]?\d[\d,.' ]*|[-+]?\d[\d,.' ]*\s*(?:[$€£¥₹]|usd|eur|gbp|jpy|chf|cad|aud))$/i;
// A JSON-style number written as a string (what JSON.parse would read as a number, plus a leading +).
const NUMERIC = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

const validYmd = (y: number, m: number, d: number): boolean => {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
};
const year4 = (y: string): number => (y.length === 2 ? (Number(y) < 70 ? 2000 : 1900) + Number(y) : Number(y));

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone) return 0;
  const z = zone.toUpperCase();
  const named: Record<string, number> = {
    UT: 0,
    GMT: 0,
    Z: 0,
    EST: -300,
    EDT: -240,
    CST: -360,
    CDT: -300,
    MST: -420,
    MDT: -360,
    PST: -480,
    PDT: -420,
  };
  if (z in named) return named[z];
  const m = /^([+-]?)(\d{2}):?(\d{2})$/.exec(z);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** Formats of a string value (empty when it has none). */
export function stringFormats(s: string): FormatName[] {
  const out: FormatName[] = [];
  const n = s.length;
  if (n === 0 || n > 2048) return out;
  const c = s.charCodeAt(0);
  const t = s.trim();
  if (t.length === 0) return out;
  if (n <= 64) {
    if (NUMERIC.test(t)) {
      out.push('numeric_string');
      if (/^\d+$/.test(t)) {
        const v = Number(t);
        if (v >= EPOCH_S_MIN && v <= EPOCH_S_MAX) out.push('epoch_seconds');
        else if (v >= EPOCH_S_MIN * 1000 && v <= EPOCH_S_MAX * 1000) out.push('epoch_ms');
      }
      return out;
    }
    const digitFirst = c >= 48 && c <= 57;
    if (digitFirst) {
      let m = ISO_DATE.exec(t);
      if (m) {
        if (validYmd(+m[1], +m[2], +m[3])) out.push('iso_date');
        return out;
      }
      m = ISO_DATETIME.exec(t);
      if (m) {
        if (validYmd(+m[1], +m[2], +m[3]) && +m[4] < 24 && +m[5] < 60) out.push('iso_datetime');
        return out;
      }
      m = SLASH_DATE.exec(t);
      if (m) {
        const a = +m[1];
        const b = +m[2];
        const y = year4(m[3]);
        const us = validYmd(y, a, b);
        const eu = validYmd(y, b, a);
        if (us && eu) out.push(a === b ? 'us_date' : 'us_or_eu_date');
        else if (us) out.push('us_date');
        else if (eu) out.push('eu_date');
        return out;
      }
      m = DOT_DATE.exec(t);
      if (m) {
        if (validYmd(+m[3], +m[2], +m[1])) out.push('eu_date');
        return out;
      }
      if (TEXT_DATE_DMY.test(t) && parseTimestamp(t) !== null) out.push('text_date');
    }
    if (UUID.test(t)) {
      out.push('uuid');
      return out;
    }
    if (out.length === 0 && !digitFirst && TEXT_DATE_MDY.test(t) && parseTimestamp(t) !== null) out.push('text_date');
    if ((digitFirst || c === 43 || c === 40) && PHONE.test(t)) {
      const digits = t.replace(/\D/g, '').length;
      if (digits >= 7 && digits <= 15 && /[\s().+-]/.test(t)) out.push('phone');
    }
    if (CURRENCY.test(t) && /\d/.test(t)) out.push('currency_amount');
  }
  if (RFC2822.test(t) && parseTimestamp(t) !== null) out.push('rfc2822_datetime');
  if (t.includes('@') && EMAIL.test(t)) out.push('email');
  if (t.includes('://') && URL_RE.test(t)) out.push('url');
  return out;
}

/** Formats of a JSON number: epoch seconds or milliseconds when it is a whole number in their plausible range. */
export function numberFormats(x: number): FormatName[] {
  if (!Number.isInteger(x)) return [];
  if (x >= EPOCH_S_MIN && x <= EPOCH_S_MAX) return ['epoch_seconds'];
  if (x >= EPOCH_S_MIN * 1000 && x <= EPOCH_S_MAX * 1000) return ['epoch_ms'];
  return [];
}

/**
 * A value as a point in time (ms since the epoch, UTC), or null: ISO 8601 (no zone = UTC), RFC 2822, epoch
 * seconds/ms (numbers or digit strings), "Jun 12 1998", and M/D/Y or D.M.Y dates (a slash date is read M/D/Y
 * unless only D/M/Y is valid).
 */
export function parseTimestamp(value: unknown): number | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    if (value >= EPOCH_S_MIN && value <= EPOCH_S_MAX) return value * 1000;
    if (value >= EPOCH_S_MIN * 1000 && value <= EPOCH_S_MAX * 1000) return value;
    return null;
  }
  if (typeof value !== 'string') return null;
  const t = value.trim();
  let m = ISO_DATE.exec(t);
  if (m) return validYmd(+m[1], +m[2], +m[3]) ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : null;
  m = ISO_DATETIME.exec(t);
  if (m) {
    if (!validYmd(+m[1], +m[2], +m[3])) return null;
    const ms = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0), ms) - zoneOffsetMinutes(m[8]) * 60_000;
  }
  m = RFC2822.exec(t);
  if (m) {
    const y = year4(m[3]);
    const mo = monthIndex(m[2]);
    if (!validYmd(y, mo + 1, +m[1])) return null;
    return Date.UTC(y, mo, +m[1], +m[4], +m[5], +(m[6] ?? 0)) - zoneOffsetMinutes(m[7]) * 60_000;
  }
  if (/^\d{9,13}$/.test(t)) return parseTimestamp(Number(t));
  m = SLASH_DATE.exec(t);
  if (m) {
    const a = +m[1];
    const b = +m[2];
    const y = year4(m[3]);
    if (validYmd(y, a, b)) return Date.UTC(y, a - 1, b);
    if (validYmd(y, b, a)) return Date.UTC(y, b - 1, a);
    return null;
  }
  m = DOT_DATE.exec(t);
  if (m) return validYmd(+m[3], +m[2], +m[1]) ? Date.UTC(+m[3], +m[2] - 1, +m[1]) : null;
  m = TEXT_DATE_MDY.exec(t);
  if (m) return validYmd(+m[3], monthIndex(m[1]) + 1, +m[2]) ? Date.UTC(+m[3], monthIndex(m[1]), +m[2]) : null;
  m = TEXT_DATE_DMY.exec(t);
  if (m) return validYmd(+m[3], monthIndex(m[2]) + 1, +m[1]) ? Date.UTC(+m[3], monthIndex(m[2]), +m[1]) : null;
  return null;
}
