import { isUtf8 } from 'node:buffer';
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AirlockError, describeJsonError, findInvalidUtf8 } from '../errors.js';
import { CsvParser } from './csv-parser.js';
import { physicalLines, tooLongReason } from './read-lines.js';

export type InputFormat = 'jsonl' | 'json' | 'csv' | 'tsv';

/** One item read from an input file: a value, or why its line could not be read. */
export type InputItem = { line: number; value: unknown } | { line: number; error: string };

export function detectFormat(file: string, forced?: string): InputFormat {
  if (forced) {
    if (!['jsonl', 'ndjson', 'json', 'csv', 'tsv'].includes(forced)) {
      throw new AirlockError('USAGE', `--format must be one of jsonl, json, csv, tsv (got "${forced}")`);
    }
    return (forced === 'ndjson' ? 'jsonl' : forced) as InputFormat;
  }
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.tsv') || name.endsWith('.tab')) return 'tsv';
  throw new AirlockError('USAGE', `cannot tell the format of ${file} from its name; pass --format jsonl|json|csv|tsv`);
}

function open(file: string): Readable {
  try {
    statSync(file);
  } catch (err) {
    throw new AirlockError('USAGE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const raw = createReadStream(file);
  return file.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

/** The text of a line, or why it is not UTF-8 (the column of the first bad byte). */
function decode(bytes: Buffer): { text: string } | { error: string } {
  if (isUtf8(bytes)) return { text: bytes.toString('utf8') };
  const at = findInvalidUtf8(bytes);
  return {
    error: `not valid UTF-8${at ? ` (invalid byte 0x${bytes[at.offset].toString(16).padStart(2, '0')} at byte ${at.column})` : ''}`,
  };
}

function stripBom(bytes: Buffer): Buffer {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

/** Turns a stream error (a file that is not gzip after all, a read error) into a message that names the file. */
function readError(file: string, err: unknown): AirlockError {
  if (err instanceof AirlockError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code?.startsWith('Z_') || e.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new AirlockError('USAGE', `${file} is not a valid gzip file: ${e.message}`);
  }
  return new AirlockError('USAGE', `cannot read ${file}: ${e.code ?? e.message}`);
}

/**
 * Reads JSONL, a JSON array (or one object), CSV or TSV — gzip too — item by item, with line numbers. A line that
 * cannot be read (not JSON, not UTF-8, a CSV row of the wrong width) is an item with its error, and reading goes on.
 */
export async function* readRecords(file: string, format: InputFormat): AsyncGenerator<InputItem> {
  const input = open(file);
  try {
    if (format === 'jsonl') yield* readJsonl(input);
    else if (format === 'json') yield* readJson(file, input);
    else yield* readDelimited(file, input, format === 'tsv' ? '\t' : ',');
  } catch (err) {
    throw readError(file, err);
  } finally {
    input.destroy();
  }
}

async function* readJsonl(input: Readable): AsyncGenerator<InputItem> {
  for await (const p of physicalLines(input, false)) {
    if (p.tooLong) {
      yield { line: p.line, error: tooLongReason(p.tooLong) };
      continue;
    }
    const d = decode(p.line === 1 ? stripBom(p.bytes) : p.bytes);
    if ('error' in d) {
      yield { line: p.line, error: d.error };
      continue;
    }
    const t = d.text;
    if (t.trim() === '') continue;
    try {
      yield { line: p.line, value: JSON.parse(t) };
    } catch (err) {
      yield {
        line: p.line,
        error: `not valid JSON: ${describeJsonError(t, err as Error).replace(/at line 1, column (\d+) \(offset \d+\)/, 'at column $1')}`,
      };
    }
  }
}

async function* readJson(file: string, input: Readable): AsyncGenerator<InputItem> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(c as Buffer);
  const bytes = stripBom(Buffer.concat(chunks));
  if (!isUtf8(bytes)) {
    const at = findInvalidUtf8(bytes);
    throw new AirlockError('USAGE', `${file} is not valid UTF-8${at ? `: invalid byte at line ${at.line}, byte ${at.column}` : ''}`);
  }
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('USAGE', `${file} is not valid JSON: ${describeJsonError(text, err as Error)}`);
  }
  const items = Array.isArray(value) ? value : [value];
  for (let i = 0; i < items.length; i++) yield { line: i + 1, value: items[i] };
}

/**
 * CSV or TSV with a header row (RFC 4180 quoting; a quoted field may span lines). A row whose width differs from the
 * header's, or whose quote never closes, is an item with its error; the rows around it are read as usual.
 */
async function* readDelimited(file: string, input: Readable, delimiter: string): AsyncGenerator<InputItem> {
  const parser = new CsvParser(delimiter);
  let columns: string[] | null = null;
  let badUtf8: number | null = null;
  for await (const p of physicalLines(input, false)) {
    if (p.tooLong) {
      yield { line: p.line, error: tooLongReason(p.tooLong) };
      continue;
    }
    const d = decode(p.line === 1 ? stripBom(p.bytes) : p.bytes);
    if ('error' in d) badUtf8 ??= p.line;
    const text = 'error' in d ? p.bytes.toString('utf8') : d.text;
    const r = parser.push(text, p.ending === 'crlf' ? '\r\n' : '\n', p.line);
    if (!r) continue;
    const invalidAt = badUtf8;
    badUtf8 = null;
    if ('error' in r) {
      yield { line: r.line, error: `CSV: ${r.error}` };
      continue;
    }
    if (r.fields.length === 1 && r.fields[0].trim() === '') continue;
    if (!columns) {
      columns = r.fields;
      if (invalidAt !== null) throw new AirlockError('USAGE', `${file}: the header (line ${invalidAt}) is not valid UTF-8`);
      continue;
    }
    if (invalidAt !== null) {
      yield { line: r.line, error: `not valid UTF-8 (line ${invalidAt})` };
      continue;
    }
    if (r.fields.length !== columns.length) {
      yield { line: r.line, error: `CSV: expected ${columns.length} fields (as the header), got ${r.fields.length}` };
      continue;
    }
    // fromEntries defines each column as data: a `__proto__` column is a field like any other.
    const cols = columns;
    yield { line: r.line, value: Object.fromEntries(r.fields.map((f, i) => [cols[i], f])) };
  }
  const open = parser.end();
  if (open) yield { line: open.line, error: `CSV: ${open.error}` };
}
