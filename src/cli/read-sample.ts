import { isUtf8 } from 'node:buffer';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { AirlockError, describeJsonError } from '../errors.js';
import { CsvParser } from './csv-parser.js';
import { DEFAULT_MAX_LINE_BYTES, type PhysicalLine, physicalLines, tooLongReason } from './read-lines.js';

/**
 * Reads a raw sample for `airlock audit` in bounded memory: JSONL, a JSON array (or concatenated JSON values), CSV or
 * TSV, gzip or not, detected from the name and the first bytes. Every row comes with its number; byte-level problems
 * (invalid UTF-8, byte-order marks, line endings) go to a sink as they are met.
 */

export type SampleFormat = 'jsonl' | 'json' | 'csv' | 'tsv';

export interface SampleInfo {
  format: SampleFormat;
  compressed: boolean;
  /** Size of the file on disk. */
  bytes: number;
  /** CSV/TSV: the field delimiter found (or forced by the format). */
  delimiter?: string;
  /** CSV/TSV: whether the first record was read as a header. */
  header?: boolean;
}

/** One row: a value, or the parser's reason it could not be read. `row` is its line (JSONL, CSV) or item (JSON array). */
export type SampleRow =
  | { row: number; value: unknown; raw?: string; invalidUtf8: boolean }
  | { row: number; error: string; invalidUtf8: boolean };

/** Where the reader reports what it sees in the bytes. */
export interface ByteIssueSink {
  addRowIssue(kind: 'invalid_utf8' | 'byte_order_mark', line: number): void;
  addLineEnding(kind: 'lf' | 'crlf' | 'cr', line: number): void;
}

const SNIFF_BYTES = 64 * 1024;
const DELIMITERS = [',', ';', '\t', '|'];
/** A CSV record may span at most this many lines (an unclosed quote must not swallow the file). */

function usage(message: string): AirlockError {
  return new AirlockError('USAGE', message);
}

/** The first bytes of the (decompressed) file. */
function head(file: string, compressed: boolean): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(compressed ? SNIFF_BYTES / 4 : SNIFF_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const bytes = buf.subarray(0, n);
    if (!compressed) return bytes;
    try {
      return gunzipSync(bytes, { finishFlush: 2 /* Z_SYNC_FLUSH: a truncated stream is fine */ }).subarray(0, SNIFF_BYTES);
    } catch (err) {
      throw usage(`${file} starts like gzip but cannot be decompressed: ${(err as Error).message}`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Looks at the file's name and first bytes: format (unless forced), compression, CSV delimiter and header. */
export function sniffSample(file: string, forced?: string): SampleInfo {
  let bytes: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw usage(`${file} is a directory, not a file`);
    bytes = st.size;
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw usage(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const magic = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  readSync(fd, magic, 0, 2, 0);
  closeSync(fd);
  const compressed = magic[0] === 0x1f && magic[1] === 0x8b;
  const start = head(file, compressed);
  if ((start[0] === 0xff && start[1] === 0xfe) || (start[0] === 0xfe && start[1] === 0xff)) {
    throw usage(
      `${file} is UTF-16 (it starts with a UTF-16 byte-order mark); convert it to UTF-8 first, e.g. with iconv -f UTF-16 -t UTF-8`,
    );
  }
  let format: SampleFormat;
  if (forced) {
    const f = forced === 'ndjson' ? 'jsonl' : forced;
    if (!['jsonl', 'json', 'csv', 'tsv'].includes(f)) throw usage(`--format must be one of jsonl, json, csv, tsv (got "${forced}")`);
    format = f as SampleFormat;
  } else {
    const name = file.toLowerCase().replace(/\.(gz|gzip)$/, '');
    if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) format = 'jsonl';
    else if (name.endsWith('.json')) format = 'json';
    else if (name.endsWith('.tsv') || name.endsWith('.tab')) format = 'tsv';
    else if (name.endsWith('.csv')) format = 'csv';
    else format = sniffFormat(start);
  }
  const info: SampleInfo = { format, compressed, bytes };
  if (format === 'csv' || format === 'tsv') {
    const text = start.toString('utf8').replace(/^\uFEFF/, '');
    const lines = text.split(/\r?\n/).slice(0, start.length >= SNIFF_BYTES ? -1 : undefined);
    info.delimiter = format === 'tsv' ? '\t' : detectDelimiter(lines);
    info.header = detectHeader(lines, info.delimiter);
  }
  return info;
}

/** JSON array when the text starts with `[`; JSONL when its first line is a JSON value on its own; else CSV. */
export function sniffFormat(start: Buffer): SampleFormat {
  const text = start.toString('utf8').replace(/^\uFEFF/, '');
  const t = text.trimStart();
  if (t.startsWith('[')) return 'json';
  if (t.startsWith('{')) {
    const first = t.split('\n', 1)[0];
    try {
      JSON.parse(first);
      return 'jsonl';
    } catch {
      return 'json';
    }
  }
  return 'csv';
}

/** Counts of `delim` outside double quotes in one line. */
function countOutsideQuotes(line: string, delim: string): number {
  let n = 0;
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') q = !q;
    else if (!q && c === delim) n++;
  }
  return n;
}

/**
 * The delimiter among , ; TAB | that splits the first lines most consistently (as Python's csv.Sniffer: the
 * candidate whose most common per-line count is non-zero and shared by the most lines; ties in that order).
 */
export function detectDelimiter(lines: string[]): string {
  const sample = lines.filter((l) => l.trim() !== '').slice(0, 30);
  let best = ',';
  let bestScore = 0;
  for (const d of DELIMITERS) {
    const counts = sample.map((l) => countOutsideQuotes(l, d));
    const freq = new Map<number, number>();
    for (const c of counts) if (c > 0) freq.set(c, (freq.get(c) ?? 0) + 1);
    let modeShare = 0;
    for (const v of freq.values()) modeShare = Math.max(modeShare, v);
    const score = sample.length ? modeShare / sample.length : 0;
    if (score > bestScore + 1e-9) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

const looksNumeric = (s: string) => /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s);

/**
 * Whether the first record is a header (after Python's csv.Sniffer.has_header): per column, a first cell that is not
 * numeric above numeric cells, or of another length above cells of one length, votes for a header; the opposite votes
 * against. With no vote either way, a first row of distinct, non-empty, non-numeric cells is a header.
 */
export function detectHeader(lines: string[], delimiter: string): boolean {
  const parser = new CsvParser(delimiter);
  const records: string[][] = [];
  let line = 0;
  for (const l of lines) {
    line++;
    if (records.length >= 21) break;
    const r = parser.push(l, '\n', line);
    if (r && 'fields' in r) records.push(r.fields);
  }
  if (records.length === 0) return false;
  const [first, ...rest] = records;
  let votes = 0;
  for (let c = 0; c < first.length; c++) {
    const col = rest.map((r) => r[c]).filter((v) => v !== undefined && v !== '');
    if (col.length === 0) continue;
    if (col.every(looksNumeric)) votes += looksNumeric(first[c]) ? -1 : 1;
    else {
      const len = col[0].length;
      if (col.every((v) => v.length === len)) votes += first[c].length === len ? -1 : 1;
    }
  }
  if (votes !== 0) return votes > 0;
  return first.every((v) => v.trim() !== '' && !looksNumeric(v)) && new Set(first).size === first.length;
}

function openStream(file: string, info: SampleInfo, onBytes?: (n: number) => void): Readable {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (onBytes) raw.on('data', (c) => onBytes((c as Buffer).length));
  if (!info.compressed) return raw;
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Decodes a physical line, reporting its ending, a BOM and invalid UTF-8 to the sink. */
function decodeLine(p: PhysicalLine, sink: ByteIssueSink): { text: string; invalid: boolean } {
  let bytes = p.bytes;
  if (p.ending !== 'none') sink.addLineEnding(p.ending, p.line);
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    sink.addRowIssue('byte_order_mark', p.line);
    bytes = bytes.subarray(3);
  }
  const invalid = !isUtf8(bytes);
  if (invalid) sink.addRowIssue('invalid_utf8', p.line);
  return { text: bytes.toString('utf8'), invalid };
}

/** Reads the rows of a sample. */
export async function* readSample(
  file: string,
  info: SampleInfo,
  sink: ByteIssueSink,
  onBytes?: (n: number) => void,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<SampleRow> {
  const input = openStream(file, info, onBytes);
  try {
    if (info.format === 'jsonl') yield* readJsonl(input, sink, maxLineBytes);
    else if (info.format === 'json') yield* readJson(input, sink);
    else yield* readCsv(input, info, sink, maxLineBytes);
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') throw usage(`${file} is not a valid gzip file: ${e.message}`);
    throw usage(`cannot read ${file}: ${e.message}`);
  } finally {
    input.destroy();
  }
}

async function* readJsonl(input: Readable, sink: ByteIssueSink, maxLineBytes: number): AsyncGenerator<SampleRow> {
  for await (const p of physicalLines(input, true, maxLineBytes)) {
    if (p.tooLong) {
      yield { row: p.line, error: tooLongReason(p.tooLong), invalidUtf8: false };
      continue;
    }
    const { text, invalid } = decodeLine(p, sink);
    const t = text.trim();
    if (t === '') continue;
    try {
      yield { row: p.line, value: JSON.parse(t), raw: t, invalidUtf8: invalid };
    } catch (err) {
      const where = describeJsonError(t, err as Error).replace(/at line 1, column (\d+) \(offset \d+\)/, 'at column $1');
      yield { row: p.line, error: `not valid JSON: ${where}`, invalidUtf8: invalid };
    }
  }
}

/** Lengths of an incomplete UTF-8 sequence at the end of `buf` (0–3 bytes), to carry into the next chunk. */
function incompleteTail(buf: Buffer): number {
  let i = buf.length - 1;
  let back = 0;
  while (i >= 0 && back < 3 && (buf[i] & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i < 0) return 0;
  const b = buf[i];
  const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return need > buf.length - i ? buf.length - i : 0;
}

/**
 * The text of a JSON file chunk by chunk (a JSON array is often one long line, so it is never split into lines):
 * line endings are counted, a leading BOM is reported and dropped, and a chunk that is not valid UTF-8 is searched
 * line by line so the invalid lines are reported by number.
 */
async function* jsonText(input: Readable, sink: ByteIssueSink): AsyncGenerator<string> {
  let carry: Buffer = Buffer.alloc(0);
  let line = 1;
  let first = true;
  let prevByte = -1;
  for await (const chunk of input) {
    let buf: Buffer = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const tail = incompleteTail(buf);
    carry = tail ? Buffer.from(buf.subarray(buf.length - tail)) : Buffer.alloc(0);
    buf = buf.subarray(0, buf.length - tail);
    if (first && buf.length >= 3) {
      first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        sink.addRowIssue('byte_order_mark', 1);
        buf = buf.subarray(3);
      }
    }
    const valid = isUtf8(buf);
    let start = 0;
    for (let lf = buf.indexOf(0x0a); lf !== -1; lf = buf.indexOf(0x0a, lf + 1)) {
      const before = lf > 0 ? buf[lf - 1] : prevByte;
      sink.addLineEnding(before === 0x0d ? 'crlf' : 'lf', line);
      if (!valid && !isUtf8(buf.subarray(start, lf))) sink.addRowIssue('invalid_utf8', line);
      line++;
      start = lf + 1;
    }
    if (!valid && start < buf.length && !isUtf8(buf.subarray(start))) sink.addRowIssue('invalid_utf8', line);
    if (buf.length) prevByte = buf[buf.length - 1];
    yield buf.toString('utf8');
  }
  if (carry.length) {
    sink.addRowIssue('invalid_utf8', line);
    yield carry.toString('utf8');
  }
}

async function* readJson(input: Readable, sink: ByteIssueSink): AsyncGenerator<SampleRow> {
  const gen = jsonText(input, sink);
  // Peek the first non-blank text to choose between an array and a stream of values.
  const buffered: string[] = [];
  let startsArray = false;
  for (;;) {
    const r = await gen.next();
    if (r.done) break;
    buffered.push(r.value);
    const t = buffered.join('').trimStart();
    if (t !== '') {
      startsArray = t.startsWith('[');
      break;
    }
  }
  async function* all(): AsyncGenerator<string> {
    yield* buffered;
    yield* gen;
  }
  const streamer = startsArray ? streamArray.withParserAsStream() : streamValues.withParserAsStream({ jsonStreaming: true });
  const source = Readable.from(all());
  source.on('error', (e) => streamer.destroy(e));
  source.pipe(streamer);
  let row = 0;
  try {
    for await (const item of streamer as AsyncIterable<{ key: number; value: unknown }>) {
      row = item.key + 1;
      yield { row, value: item.value, invalidUtf8: false };
    }
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    yield { row: row + 1, error: `not valid JSON after item ${row}: ${(err as Error).message}`, invalidUtf8: false };
  }
}

async function* readCsv(input: Readable, info: SampleInfo, sink: ByteIssueSink, maxLineBytes: number): AsyncGenerator<SampleRow> {
  const parser = new CsvParser(info.delimiter ?? ',');
  let columns: string[] | null = null;
  let invalid = false;
  for await (const p of physicalLines(input, false, maxLineBytes)) {
    if (p.tooLong) {
      yield { row: p.line, error: tooLongReason(p.tooLong), invalidUtf8: false };
      continue;
    }
    const { text, invalid: bad } = decodeLine(p, sink);
    invalid ||= bad;
    const ending = p.ending === 'crlf' ? '\r\n' : '\n';
    const r = parser.push(text, ending, p.line);
    if (!r) continue;
    const rowInvalid = invalid;
    invalid = false;
    if ('error' in r) {
      yield { row: r.line, error: r.error, invalidUtf8: rowInvalid };
      continue;
    }
    if (r.fields.length === 1 && r.fields[0].trim() === '') continue; // blank line
    if (!columns) {
      if (info.header) {
        columns = headerNames(r.fields);
        continue;
      }
      columns = r.fields.map((_, i) => `column_${i + 1}`);
    }
    if (r.fields.length !== columns.length) {
      yield {
        row: r.line,
        error: `expected ${columns.length} fields (as the ${info.header ? 'header' : 'first row'}), got ${r.fields.length}`,
        invalidUtf8: rowInvalid,
      };
      continue;
    }
    // fromEntries defines each column as data: a `__proto__` column is a field like any other.
    const cols = columns;
    const value: Record<string, string> = Object.fromEntries(r.fields.map((f, i) => [cols[i], f]));
    yield { row: r.line, value, raw: r.raw, invalidUtf8: rowInvalid };
  }
  const open = parser.end();
  if (open) yield { row: open.line, error: open.error, invalidUtf8: false };
}

/** Header cells as field names: an empty one becomes `Unnamed: i`, a repeated one `name.1` (as pandas names them). */
function headerNames(cells: string[]): string[] {
  const seen = new Map<string, number>();
  return cells.map((c, i) => {
    const base = c.trim() === '' ? `Unnamed: ${i}` : c;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}.${n}`;
  });
}
