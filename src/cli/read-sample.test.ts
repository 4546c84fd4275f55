// Time budget: 5 s. Lines of a byte stream, whatever the chunking, and a line past the limit skipped in bounded memory.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type PhysicalLine, physicalLines } from './read-lines.js';

async function lines(chunks: (string | Buffer)[], splitCr: boolean, max?: number): Promise<PhysicalLine[]> {
  const out: PhysicalLine[] = [];
  const input = Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  for await (const l of physicalLines(input, splitCr, max)) out.push(l);
  return out;
}
const view = (ls: PhysicalLine[]) => ls.map((l) => [l.line, l.bytes.toString(), l.ending, l.tooLong?.bytes ?? null]);

describe('physical lines', () => {
  const text = 'a\r\nbb\ncc\rdd\n\neof';
  it('are the same however the stream is cut', async () => {
    const whole = view(await lines([text], true));
    expect(whole).toEqual([
      [1, 'a', 'crlf', null],
      [2, 'bb', 'lf', null],
      [3, 'cc', 'cr', null],
      [4, 'dd', 'lf', null],
      [5, '', 'lf', null],
      [6, 'eof', 'none', null],
    ]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(view(await lines([text.slice(0, cut), text.slice(cut)], true))).toEqual(whole);
    }
    expect(view(await lines(text.split(''), true))).toEqual(whole);
  });

  it('keep a CR inside a line when CR is not a line ending, and a CRLF across a cut', async () => {
    expect(view(await lines(['x\ry\r', '\nz'], false))).toEqual([
      [1, 'x\ry', 'crlf', null],
      [2, 'z', 'none', null],
    ]);
  });

  it('cut a line past the limit, skip the rest of it, and go on with the next line', async () => {
    const big = 'x'.repeat(100);
    const got = await lines(['head\n', big.slice(0, 30), big.slice(30), '\ntail\n'], true, 40);
    expect(view(got)).toEqual([
      [1, 'head', 'lf', null],
      [2, 'x'.repeat(40), 'lf', 100],
      [3, 'tail', 'lf', null],
    ]);
    // A line of exactly the limit is read whole.
    expect(view(await lines(['y'.repeat(40), '\n'], true, 40))).toEqual([[1, 'y'.repeat(40), 'lf', null]]);
  });
});
