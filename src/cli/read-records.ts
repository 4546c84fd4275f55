import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse';
import { AirlockError } from '../errors.js';

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

/** Reads JSONL, a JSON array (or one object), CSV or TSV — gzip too — item by item, with line numbers. */
export async function* readRecords(file: string, format: InputFormat): AsyncGenerator<InputItem> {
  if (format === 'jsonl') {
    const rl = createInterface({ input: open(file), crlfDelay: Number.POSITIVE_INFINITY });
    let line = 0;
    for await (const text of rl) {
      line++;
      const t = line === 1 ? text.replace(/^\uFEFF/, '') : text;
      if (t.trim() === '') continue;
      try {
        yield { line, value: JSON.parse(t) };
      } catch (err) {
        yield { line, error: `not valid JSON: ${(err as Error).message}` };
      }
    }
    return;
  }
  if (format === 'json') {
    const chunks: Buffer[] = [];
    for await (const c of open(file)) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new AirlockError('BAD_REQUEST', `${file} is not valid JSON: ${(err as Error).message}`);
    }
    const items = Array.isArray(value) ? value : [value];
    for (let i = 0; i < items.length; i++) yield { line: i + 1, value: items[i] };
    return;
  }
  const parser = open(file).pipe(
    parseCsv({
      columns: true,
      bom: true,
      delimiter: format === 'tsv' ? '\t' : ',',
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }),
  );
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { line: row.info.lines, value: row.record };
    }
  } catch (err) {
    const e = err as Error & { lines?: number };
    yield { line: e.lines ?? 0, error: `CSV: ${e.message}` };
  }
}
