import { describe, expect, test } from 'vitest';
import { numberFormats, parseTimestamp, stringFormats } from './formats.js';

describe('stringFormats', () => {
  test.each([
    ['2024-03-05', ['iso_date']],
    ['2024-03-05T10:20:30Z', ['iso_datetime']],
    ['2024-03-05 10:20:30.123+02:00', ['iso_datetime']],
    ['Tue, 6 Aug 2002 06:48:09 -0400 (EDT)', ['rfc2822_datetime']],
    ['Fri, 02 Aug 2002 23:37:59 0530', ['rfc2822_datetime']],
    ['12/25/2023', ['us_date']],
    ['25/12/2023', ['eu_date']],
    ['25.12.2023', ['eu_date']],
    ['03/04/2023', ['us_or_eu_date']],
    ['Jun 12 1998', ['text_date']],
    ['12 June 1998', ['text_date']],
    ['1700000000', ['numeric_string', 'epoch_seconds']],
    ['1700000000123', ['numeric_string', 'epoch_ms']],
    ['-12.5e3', ['numeric_string']],
    ['ann@example.com', ['email']],
    ['https://example.com/a?b=c', ['url']],
    ['123e4567-e89b-12d3-a456-426614174000', ['uuid']],
    ['+44 20 7946 0958', ['phone']],
    ['(555) 123-4567', ['phone']],
    ['$1,234.50', ['currency_amount']],
    ['12,50 €', ['currency_amount']],
    ['EUR 12', ['currency_amount']],
  ])('%s → %j', (s, expected) => {
    expect(stringFormats(s)).toEqual(expected);
  });

  test.each(['hello', '2024-13-01', '31/31/2020', 'Feb 30 2020', 'not an @ email', '', '   ', '12 apples'])('%j has no format', (s) => {
    expect(stringFormats(s)).toEqual([]);
  });
});

describe('numberFormats', () => {
  test('whole numbers in the epoch range are epoch seconds or milliseconds; others nothing', () => {
    expect(numberFormats(1_700_000_000)).toEqual(['epoch_seconds']);
    expect(numberFormats(1_700_000_000_000)).toEqual(['epoch_ms']);
    expect(numberFormats(42)).toEqual([]);
    expect(numberFormats(1_700_000_000.5)).toEqual([]);
  });
});

describe('parseTimestamp', () => {
  test('reads each date format as UTC milliseconds', () => {
    const t = Date.UTC(2002, 7, 6, 10, 48, 9);
    expect(parseTimestamp('2002-08-06T10:48:09Z')).toBe(t);
    expect(parseTimestamp('2002-08-06 10:48:09')).toBe(t);
    expect(parseTimestamp('2002-08-06T12:48:09+02:00')).toBe(t);
    expect(parseTimestamp('Tue, 6 Aug 2002 06:48:09 -0400 (EDT)')).toBe(t);
    expect(parseTimestamp('6 Aug 2002 06:48:09 EDT')).toBe(t);
    expect(parseTimestamp(t / 1000)).toBe(t);
    expect(parseTimestamp(t)).toBe(t);
    expect(parseTimestamp(String(t / 1000))).toBe(t);
    expect(parseTimestamp('Aug 06 2002')).toBe(Date.UTC(2002, 7, 6));
    expect(parseTimestamp('08/06/2002')).toBe(Date.UTC(2002, 7, 6));
    expect(parseTimestamp('25/12/2002')).toBe(Date.UTC(2002, 11, 25));
    expect(parseTimestamp('25.12.2002')).toBe(Date.UTC(2002, 11, 25));
  });
  test('anything else is null', () => {
    for (const v of ['yesterday', '2002-02-30', null, true, 12, {}, Number.NaN]) expect(parseTimestamp(v)).toBeNull();
  });
});
