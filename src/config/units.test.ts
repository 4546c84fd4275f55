import { describe, expect, test } from 'vitest';
import { formatDuration, parseByteSize, parseDuration, parseRate } from './units.js';

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['2s', 2_000],
    ['5m', 300_000],
    ['5min', 300_000],
    ['4h', 14_400_000],
    ['1d', 86_400_000],
    ['1.5s', 1_500],
    ['0ms', 0],
    [' 30 s ', 30_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test('a number is already milliseconds', () => {
    expect(parseDuration(250)).toBe(250);
  });

  test.each(['', '2', 'fast', '2 seconds', '5M', '-1s', '1w', 's', '1.s', '2s2s'])('%j is refused with the accepted forms', (text) => {
    expect(() => parseDuration(text)).toThrow(`"${text}" is not a duration (expected e.g. 500ms, 2s, 5m, 4h, 1d)`);
  });
});

describe('parseRate', () => {
  test.each([
    ['20/s', 20, 1_000],
    ['700/min', 700, 60_000],
    ['100/10s', 100, 10_000],
    ['1000000/day', 1_000_000, 86_400_000],
    ['5/h', 5, 3_600_000],
    ['3/hour', 3, 3_600_000],
    ['1/sec', 1, 1_000],
    ['2.5/s', 2.5, 1_000],
    ['50/ 500ms', 50, 500],
  ])('%j is %d per %d ms', (text, count, intervalMs) => {
    expect(parseRate(text)).toEqual({ count, intervalMs, text: text.trim() });
  });

  test('keeps the text it was parsed from, trimmed, for messages', () => {
    expect(parseRate('  20/s  ').text).toBe('20/s');
  });

  test.each(['', '20', '20/', '/s', '20 per second', '20/fortnight', '-5/s', 'x/s', '20/s/s'])(
    '%j is refused with the accepted forms',
    (text) => {
      expect(() => parseRate(text)).toThrow(`"${text}" is not a rate (expected e.g. 20/s, 700/min, 100/10s, 1000000/day)`);
    },
  );

  test.each(['0/s', '10/0s', '0/10s'])('%j is refused: a rate must allow some events in a positive interval', (text) => {
    expect(() => parseRate(text)).toThrow(`"${text}" must allow a positive number of events per positive interval`);
  });
});

describe('parseByteSize', () => {
  test.each([
    ['512kb', 512 * 1024],
    ['10mb', 10 * 1024 * 1024],
    ['1gb', 1024 ** 3],
    ['10MB', 10 * 1024 * 1024],
    ['1.5kb', 1536],
    ['100b', 100],
    ['4096', 4096],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  test('a number is already bytes', () => {
    expect(parseByteSize(2048)).toBe(2048);
  });

  test.each(['', 'big', '10 parsecs', '10tb', '-1kb', 'mb'])('%j is refused with an example', (text) => {
    expect(() => parseByteSize(text)).toThrow(`"${text}" is not a size (expected e.g. 512kb, 10mb)`);
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0ms'],
    [500, '500ms'],
    [1_500, '1500ms'],
    [2_000, '2s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [14_400_000, '4h'],
    [5_400_000, '90m'],
    [86_400_000, '1d'],
    [172_800_000, '2d'],
  ])('%d ms is written %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test.each(['500ms', '2s', '5m', '4h', '1d', '90m', '1500ms'])('%j survives a round trip through parseDuration', (text) => {
    expect(formatDuration(parseDuration(text))).toBe(text);
  });
});
