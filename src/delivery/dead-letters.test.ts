import { describe, expect, test } from 'vitest';
import { displayUrl } from './dead-letters.js';

describe('displayUrl', () => {
  test('drops user info and the query string, where credentials sometimes travel', () => {
    expect(displayUrl('https://bot:s3cret@api.example.com/v1/tickets?api_key=abc')).toBe('https://api.example.com/v1/tickets?…');
    expect(displayUrl('http://127.0.0.1:9100/hook')).toBe('http://127.0.0.1:9100/hook');
    expect(displayUrl('not a url')).toBe('(invalid url)');
  });
});
