import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_INGEST_LIMITS } from '../config/sections/server.js';
import { AirlockError, describeJsonError, findInvalidUtf8 } from '../errors.js';
import { nestingBeyond, OverLimitLine, UnparseableLine } from '../pipeline/ingest.js';

/** The media types of an NDJSON body: one JSON value per line. */
export const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/jsonlines'];

/**
 * The request body parsers: JSON (any JSON value, as the route's schema then sees it) and NDJSON (an array of the
 * lines' values). Bodies are read as bytes so that invalid UTF-8 is answered (JSON) or kept as unparseable (NDJSON),
 * never silently replaced with U+FFFD.
 */
export function registerBodyParsers(app: FastifyInstance, maxDepth: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser(NDJSON_TYPES, { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseNdjsonBody(body as Buffer, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** Parses a JSON body; a syntax error (or a byte that is not UTF-8) names the line, column and offset. */
export function parseJsonBody(body: string | Buffer, maxDepth = DEFAULT_INGEST_LIMITS.maxDepth): unknown {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    if (!isUtf8(body)) {
      const at = findInvalidUtf8(body);
      throw new AirlockError(
        'BAD_REQUEST',
        `body is not valid UTF-8${at ? `: invalid byte 0x${body[at.offset].toString(16).padStart(2, '0')} at line ${at.line}, byte ${at.column} (offset ${at.offset})` : ''}`,
      );
    }
    text = body.toString('utf8');
  }
  // A leading byte-order mark is not part of the JSON text (RFC 8259 §8.1 lets a parser ignore it).
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Records sit one level below an array body: the body may nest one level deeper than a record.
  const allowed = text.trimStart().startsWith('[') ? maxDepth + 1 : maxDepth;
  const deep = nestingBeyond(text, allowed);
  if (deep) {
    throw new AirlockError(
      'BAD_REQUEST',
      `body nests deeper than a record may (${maxDepth} levels, server.limits.max_depth) at line ${deep.line}, column ${deep.column}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AirlockError('BAD_REQUEST', `body is not valid JSON: ${describeJsonError(text, err as Error)}`);
  }
}

/**
 * Parses NDJSON: one JSON value per line, in order; blank lines are skipped. A line that is not JSON (or not UTF-8)
 * does not fail the batch: it becomes an UnparseableLine (kept as a quarantined `unparseable` record, with its line and
 * the reason), and a line nested too deep an OverLimitLine, so the good lines of the same body are stored.
 */
export function parseNdjsonBody(body: string | Buffer, maxDepth = DEFAULT_INGEST_LIMITS.maxDepth): unknown[] {
  const items: unknown[] = [];
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const allValid = isUtf8(bytes);
  let start = 0;
  for (let i = 0; start < bytes.length || i === 0; i++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let raw = bytes.subarray(start, end);
    start = end + 1;
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    if (i === 0 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
    const line = raw.toString('utf8');
    if (line.trim() === '') {
      if (start >= bytes.length) break;
      continue;
    }
    const deep = nestingBeyond(line, maxDepth);
    if (!allValid && !isUtf8(raw)) {
      const at = findInvalidUtf8(raw);
      items.push(new UnparseableLine(i + 1, line, `not valid UTF-8${at ? `: invalid byte at column ${at.column}` : ''}`));
    } else if (deep) {
      items.push(new OverLimitLine(i + 1, `nests deeper than ${maxDepth} levels at column ${deep.column} (server.limits.max_depth)`));
    } else {
      try {
        items.push(JSON.parse(line));
      } catch (err) {
        const reason = `not valid JSON: ${describeJsonError(line, err as Error).replace(/at line 1, column (\d+) \(offset \d+\)/, 'at column $1')}`;
        items.push(new UnparseableLine(i + 1, line, reason));
      }
    }
    if (start >= bytes.length) break;
  }
  return items;
}
