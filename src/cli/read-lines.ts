import type { Readable } from 'node:stream';

export interface PhysicalLine {
  line: number;
  bytes: Buffer;
  ending: 'lf' | 'crlf' | 'cr' | 'none';
  /** Set when the line was longer than the limit: `bytes` holds its first `limit` bytes, the rest was skipped. */
  tooLong?: { bytes: number; limit: number };
}

/** The longest line read into memory by default (a longer one is reported by number and skipped): 16 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream at LF (and, when `splitCr`, at a CR not followed by LF) keeping each line's ending. Memory is
 * bounded by the longest line allowed: a line past `maxLineBytes` is cut there and the rest of it skipped (its bytes
 * are counted, never kept), and it is yielded with `tooLong` so the reader reports it by number. Chunks of a line
 * that spans them are kept in a list and joined once, so a long line costs its length, not its length squared.
 */
export async function* physicalLines(
  input: Readable,
  splitCr: boolean,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<PhysicalLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes of the current line skipped past the limit (0: not skipping). */
  let skipped = 0;
  let line = 0;
  const take = (tail: Buffer): Buffer => {
    if (pending.length === 0) return tail;
    const all = Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    return all;
  };
  const emit = (tail: Buffer, ending: PhysicalLine['ending']): PhysicalLine => {
    line++;
    const total = pendingBytes + skipped + tail.length;
    if (total > maxLineBytes) {
      const kept = take(tail.subarray(0, Math.max(0, maxLineBytes - pendingBytes)));
      skipped = 0;
      return { line, bytes: kept, ending, tooLong: { bytes: total, limit: maxLineBytes } };
    }
    return { line, bytes: take(tail), ending };
  };
  /** Holds the unfinished end of a chunk, or counts it as skipped once the line is past the limit. */
  const hold = (part: Buffer): void => {
    if (part.length === 0) return;
    if (skipped > 0) {
      skipped += part.length;
      return;
    }
    const room = maxLineBytes - pendingBytes;
    if (part.length > room) {
      if (room > 0) pending.push(Buffer.from(part.subarray(0, room)));
      pendingBytes = maxLineBytes;
      skipped = part.length - room;
      return;
    }
    pending.push(Buffer.from(part));
    pendingBytes += part.length;
  };
  /** A CR that ended the previous chunk: half of a CRLF, or a line ending of its own. */
  let crAtEnd = false;
  for await (const raw of input) {
    let buf = raw as Buffer;
    if (crAtEnd) {
      crAtEnd = false;
      if (buf.length > 0 && buf[0] === 0x0a) {
        yield emit(Buffer.alloc(0), 'crlf');
        buf = buf.subarray(1);
      } else yield emit(Buffer.alloc(0), 'cr');
    }
    let start = 0;
    let nextCr = splitCr ? buf.indexOf(0x0d) : -1;
    for (;;) {
      const lf = buf.indexOf(0x0a, start);
      if (nextCr !== -1 && nextCr < start) nextCr = buf.indexOf(0x0d, start);
      const cr = nextCr;
      if (cr !== -1 && (lf === -1 || cr < lf - 1)) {
        if (cr === buf.length - 1) {
          // A CR at the chunk's end may be half of a CRLF: decided by the next chunk's first byte.
          hold(buf.subarray(start, cr));
          crAtEnd = true;
          start = buf.length;
          break;
        }
        yield emit(buf.subarray(start, cr), 'cr');
        start = cr + 1;
        continue;
      }
      if (lf === -1) break;
      let end = lf;
      let ending: PhysicalLine['ending'] = 'lf';
      if (end > start && buf[end - 1] === 0x0d) {
        end--;
        ending = 'crlf';
      } else if (end === start && pendingBytes + skipped > 0 && lastByteIsCr(pending)) {
        // The CR was the last byte held from the previous chunk.
        dropLastByte(pending);
        pendingBytes--;
        ending = 'crlf';
      }
      yield emit(buf.subarray(start, end), ending);
      start = lf + 1;
    }
    hold(buf.subarray(start));
  }
  if (crAtEnd) yield emit(Buffer.alloc(0), 'cr');
  else if (pendingBytes + skipped > 0) yield emit(Buffer.alloc(0), 'none');
}

function lastByteIsCr(chunks: Buffer[]): boolean {
  const last = chunks[chunks.length - 1];
  return last !== undefined && last.length > 0 && last[last.length - 1] === 0x0d;
}

function dropLastByte(chunks: Buffer[]): void {
  const last = chunks[chunks.length - 1];
  if (last.length <= 1) chunks.pop();
  else chunks[chunks.length - 1] = last.subarray(0, last.length - 1);
}

/** The reason a line past the length limit is not read. */
export function tooLongReason(t: { bytes: number; limit: number }): string {
  return `the line is ${t.bytes} bytes, longer than the limit of ${t.limit} (--max-line-bytes): skipped`;
}
