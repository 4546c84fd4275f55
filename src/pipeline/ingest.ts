import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from '../config/sections/server.js';
import { canonicalJson } from '../contract/gate.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { insertCases, type NewReviewCase } from '../store/cases.js';
import { recordBody, violations } from '../store/codecs.js';
import { appendEvents, type NewEvent } from '../store/events.js';
import { findRecords, insertRecords } from '../store/records.js';
import type { NewRecordRow, RecordStatus, Tables } from '../store/tables.js';
import { alertHalt, type GateResult, type GateVerdict, gateRecords } from './gate.js';

export const MAX_ID_LENGTH = 256;

export interface AcceptedRecord {
  /** Position of the item in the request (0-based). */
  index: number;
  id: string;
  status: RecordStatus;
  /** True when this id was already stored with the same body: the existing record is answered. */
  existing: boolean;
}

export interface RefusedRecord {
  index: number;
  id?: string;
  code: 'CONFLICT' | 'NOT_AN_OBJECT' | 'BAD_ID' | 'LIMIT_EXCEEDED';
  message: string;
}

export interface IngestResult {
  accepted: AcceptedRecord[];
  refused: RefusedRecord[];
}

export interface IngestOptions {
  /** The request's Idempotency-Key header: the record's id when it has none (single-record requests only). */
  idempotencyKey?: string;
}

interface Prepared {
  index: number;
  id: string;
  body: unknown;
  text: string;
  hash: string;
  /** Why the item could not be parsed (an NDJSON line that is not JSON): it is kept, raw, as an `unparseable` record. */
  unparseable?: string;
}

/**
 * A line of an NDJSON body that is not valid JSON. Ingest keeps it as a record whose body is the raw text (a JSON
 * string), quarantined with a violation of kind `unparseable`, so a person can fix and release it — nothing is lost.
 */
export class UnparseableLine {
  constructor(
    readonly line: number,
    readonly text: string,
    readonly reason: string,
  ) {}
}

/** An NDJSON line nested deeper than `server.limits.max_depth`: refused (not parsed), with its line. */
export class OverLimitLine {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {}
}

/**
 * Where JSON text nests deeper than `maxDepth` (objects and arrays; the outermost value is level 1), found by one
 * pass over the text before it is parsed, so a body of a million `[` is refused at once rather than parsed.
 */
export function nestingBeyond(text: string, maxDepth: number): { depth: number; line: number; column: number } | undefined {
  let depth = 0;
  let inString = false;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > maxDepth) return { depth, line, column: i - lineStart + 1 };
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return undefined;
}

interface Job {
  pipeline: string;
  items: unknown[];
  options: IngestOptions;
  resolve(r: IngestResult): void;
  reject(e: unknown): void;
}

/**
 * Stores records durably and runs them through the contract gate. Concurrent calls are group-committed:
 * while one transaction commits, the next requests queue up and are written together in the following one,
 * so many small requests share one sync to disk. A call resolves only after its transaction committed.
 */
export class Ingestor {
  private queue: Job[] = [];
  private flushing = false;

  private readonly limits: IngestLimits;

  constructor(private readonly rt: Runtime) {
    this.limits = rt.config.server?.limits ?? DEFAULT_INGEST_LIMITS;
  }

  ingest(pipeline: string, items: unknown[], options: IngestOptions = {}): Promise<IngestResult> {
    if (!this.rt.config.pipelines[pipeline]) {
      return Promise.reject(new AirlockError('NOT_FOUND', `pipeline "${pipeline}" is not in the config`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ pipeline, items, options, resolve, reject });
      if (!this.flushing) {
        // Start on the next turn of the event loop, so requests that arrived together share the commit.
        this.flushing = true;
        this.idle = new Promise((done) => setImmediate(() => this.flush().finally(done)));
      }
    });
  }

  /** Resolves when every queued ingest has been committed (or refused); used on shutdown. */
  async drain(): Promise<void> {
    while (this.flushing) await this.idle;
  }

  private idle: Promise<void> = Promise.resolve();

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const jobs = this.queue;
        this.queue = [];
        const started = performance.now();
        try {
          const results = await this.commit(jobs);
          for (let i = 0; i < jobs.length; i++) jobs[i].resolve(results[i]);
          this.rt.wake();
          for (const h of this.haltsToAlert) void alertHalt(this.rt, h.pipeline, h.halt);
        } catch (err) {
          for (const j of jobs) j.reject(err);
        }
        const seconds = (performance.now() - started) / 1000;
        for (const j of jobs) this.rt.metrics.stageSeconds.observe({ stage: 'ingest', pipeline: j.pipeline }, seconds);
        // SQLite commits synchronously: yield once so the requests that arrived meanwhile join the next commit.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(jobs: Job[]): Promise<IngestResult[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.rt.store.db.transaction().execute((trx) => this.write(trx, jobs));
      } catch (err) {
        // Two processes inserting the same new id at once: the loser retries and finds the winner's record.
        if (attempt < 2 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  private async write(trx: Kysely<Tables>, jobs: Job[]): Promise<IngestResult[]> {
    const now = this.rt.clock.now();
    this.haltsToAlert = [];
    const results: IngestResult[] = [];
    const rows: NewRecordRow[] = [];
    const events: NewEvent[] = [];
    const cases: NewReviewCase[] = [];
    const halts: { pipeline: string; halt: NonNullable<GateResult['halted']> }[] = [];
    // Ids written earlier in this same transaction, per pipeline: id → hash and status.
    const written = new Map<string, Map<string, { hash: string; status: RecordStatus }>>();

    const preparedByJob: { prepared: Prepared[]; refused: RefusedRecord[] }[] = jobs.map((job) => {
      const prepared: Prepared[] = [];
      const refused: RefusedRecord[] = [];
      job.items.forEach((item, index) => {
        const p = prepare(item, index, job.items.length === 1 ? job.options.idempotencyKey : undefined, this.limits);
        if ('code' in p) refused.push(p);
        else prepared.push(p);
      });
      return { prepared, refused };
    });
    // One look-up per pipeline for the ids of every request in this commit.
    const idsByPipeline = new Map<string, Set<string>>();
    jobs.forEach((job, i) => {
      let ids = idsByPipeline.get(job.pipeline);
      if (!ids) idsByPipeline.set(job.pipeline, (ids = new Set()));
      for (const p of preparedByJob[i].prepared) ids.add(p.id);
    });
    for (const [pipeline, ids] of idsByPipeline) {
      const seen = new Map<string, { hash: string; status: RecordStatus }>();
      for (const r of await findRecords(trx, pipeline, [...ids], this.rt.store.kind))
        seen.set(r.id, { hash: r.body_hash, status: r.status });
      written.set(pipeline, seen);
    }

    // First pass: identity (existing, conflict, new) per job, in arrival order.
    const freshByJob: Prepared[][] = [];
    for (const [jobIndex, job] of jobs.entries()) {
      const result: IngestResult = { accepted: [], refused: [] };
      results.push(result);
      const { prepared, refused } = preparedByJob[jobIndex];
      result.refused.push(...refused);
      const seen = written.get(job.pipeline) as Map<string, { hash: string; status: RecordStatus }>;
      const fresh: Prepared[] = [];
      for (const p of prepared) {
        const prior = seen.get(p.id);
        if (prior) {
          if (prior.hash === p.hash) {
            result.accepted.push({ index: p.index, id: p.id, status: prior.status, existing: true });
          } else {
            result.refused.push({
              index: p.index,
              id: p.id,
              code: 'CONFLICT',
              message: `record ${p.id} already exists in pipeline ${job.pipeline} with a different body`,
            });
          }
          continue;
        }
        fresh.push(p);
        // Reserve the id so a second copy later in this commit is answered as existing, not inserted twice.
        seen.set(p.id, { hash: p.hash, status: 'received' });
      }
      freshByJob.push(fresh);
    }

    // Second pass: the contract gate once per pipeline for the whole commit (one query for its state), in arrival order.
    const verdictOf = new Map<Prepared, GateVerdict>();
    for (const pipelineName of new Set(jobs.map((j) => j.pipeline))) {
      const fresh = jobs.flatMap((j, i) => (j.pipeline === pipelineName ? freshByJob[i] : []));
      if (fresh.length === 0) continue;
      const gate = await gateRecords(trx, this.rt.config.pipelines[pipelineName], fresh, now);
      if (gate.halted) halts.push({ pipeline: pipelineName, halt: gate.halted });
      for (const [i, p] of fresh.entries()) verdictOf.set(p, gate.verdicts[i]);
      events.push(...gate.events);
      cases.push(...gate.cases);
    }

    for (const [jobIndex, job] of jobs.entries()) {
      const result = results[jobIndex];
      const seen = written.get(job.pipeline) as Map<string, { hash: string; status: RecordStatus }>;
      for (const p of freshByJob[jobIndex]) {
        const v = verdictOf.get(p) as GateVerdict;
        rows.push({
          pipeline: job.pipeline,
          id: p.id,
          body: p.text,
          body_hash: p.hash,
          status: v.status,
          contract_hash: v.contractHash,
          contract_version: v.contractVersion,
          violations: v.violations.length > 0 ? violations.encode(v.violations) : null,
          original_body: null,
          prediction: null,
          decision: null,
          score_attempts: 0,
          available_at: now,
          lease_owner: null,
          lease_until: null,
          created_at: now,
          updated_at: now,
        });
        events.push({
          pipeline: job.pipeline,
          recordId: p.id,
          at: now,
          kind: 'received',
          detail: { contract: v.contractHash?.slice(0, 12) ?? null, contract_version: v.contractVersion },
        });
        seen.set(p.id, { hash: p.hash, status: v.status });
        result.accepted.push({ index: p.index, id: p.id, status: v.status, existing: false });
      }
      // A copy of a record first sent earlier in this commit answers with that record's status after the gate.
      for (const a of result.accepted) if (a.existing) a.status = seen.get(a.id)?.status ?? a.status;
      result.refused.sort((a, b) => a.index - b.index);
      result.accepted.sort((a, b) => a.index - b.index);
    }
    await insertRecords(trx, rows, this.rt.store.kind);
    await appendEvents(trx, events, this.rt.store.kind);
    await insertCases(trx, cases);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < jobs.length; i++) {
      for (const a of results[i].accepted) {
        const key = `${jobs[i].pipeline}\u0000${a.existing ? 'existing' : a.status}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      if (results[i].refused.length > 0) {
        const key = `${jobs[i].pipeline}\u0000refused`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + results[i].refused.length);
      }
    }
    for (const [key, n] of outcomes) {
      const [pipeline, outcome] = key.split('\u0000');
      this.rt.metrics.ingested.inc({ pipeline, outcome }, n);
    }
    this.haltsToAlert.push(...halts);
    return results;
  }

  /** Halts opened by the last commits, alerted once the transaction is durable. */
  private haltsToAlert: { pipeline: string; halt: NonNullable<GateResult['halted']> }[] = [];
}

function prepare(item: unknown, index: number, idempotencyKey: string | undefined, limits: IngestLimits): Prepared | RefusedRecord {
  if (item instanceof UnparseableLine) {
    // Its id comes from its text, so sending the same batch again answers the existing record.
    const hash = createHash('sha256').update(canonicalJson(item.text)).digest('hex');
    return {
      index,
      id: `unparseable-${hash.slice(0, 24)}`,
      body: item.text,
      text: recordBody.encode(item.text),
      hash,
      unparseable: `line ${item.line}: ${item.reason}`,
    };
  }
  if (item instanceof OverLimitLine) return { index, code: 'LIMIT_EXCEEDED', message: `line ${item.line}: ${item.reason}` };
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return {
      index,
      code: 'NOT_AN_OBJECT',
      message: `item ${index} is ${item === null ? 'null' : Array.isArray(item) ? 'an array' : `a ${typeof item}`}, not a JSON object`,
    };
  }
  const body = item as Record<string, unknown>;
  const over = overLimit(body, limits);
  if (over) return { index, code: 'LIMIT_EXCEEDED', message: `item ${index}: ${over}` };
  let id: string;
  if (Object.hasOwn(body, 'id') && body.id !== null && body.id !== undefined) {
    if (typeof body.id === 'string' || (typeof body.id === 'number' && Number.isFinite(body.id))) id = String(body.id);
    else return { index, code: 'BAD_ID', message: `item ${index}: "id" must be a string or a number` };
  } else if (idempotencyKey !== undefined) {
    id = idempotencyKey;
  } else {
    id = randomUUID();
  }
  if (id.length === 0 || id.length > MAX_ID_LENGTH) {
    return { index, id: id.slice(0, 64), code: 'BAD_ID', message: `item ${index}: id must be 1 to ${MAX_ID_LENGTH} characters` };
  }
  // An id goes into URLs, logs and a text column of either database: no control characters (PostgreSQL refuses
  // U+0000) and no lone surrogate (it cannot be encoded as UTF-8, so the id would not be found again).
  const bad = unprintableAt(id);
  if (bad !== -1) {
    return {
      index,
      code: 'BAD_ID',
      message: `item ${index}: id has ${id.charCodeAt(bad) >= 0xd800 ? 'a lone UTF-16 surrogate' : 'a control character'} at character ${bad + 1}; ids are printable text`,
    };
  }
  const text = recordBody.encode(body);
  const hash = createHash('sha256').update(canonicalJson(body)).digest('hex');
  return { index, id, body, text, hash };
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

/**
 * The first limit of `server.limits` the record breaks (or a number JSON cannot hold), as a sentence naming the JSON
 * Pointer where it breaks it, or undefined. Walks the value without recursion, so a record nested far past the limit cannot exhaust the stack.
 */
export function overLimit(record: object, limits: IngestLimits): string | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: record, depth: 1, path: '' }];
  let fields = 0;
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop() as { value: unknown; depth: number; path: string };
    if (typeof value === 'string') {
      if (value.length > limits.maxStringLength) {
        return `the string at ${path || '/'} is ${value.length} characters long; at most ${limits.maxStringLength} are accepted (server.limits.max_string_length)`;
      }
      continue;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      // JSON.parse reads 1e400 as Infinity, which JSON cannot write back (it would be stored as null).
      return `the number at ${path || '/'} is beyond the range of a 64-bit float (about ±1.8e308)`;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > limits.maxDepth) {
      return `${path} is nested ${depth} levels deep; at most ${limits.maxDepth} are accepted (server.limits.max_depth)`;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: depth + 1, path: `${path}/${i}` });
      continue;
    }
    const keys = Object.keys(value);
    fields += keys.length;
    if (fields > limits.maxFields) {
      return `the record has more than ${limits.maxFields} fields (counted to ${path || '/'}; nested fields included); at most ${limits.maxFields} are accepted (server.limits.max_fields)`;
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i];
      const at = `${path}/${pointerToken(k)}`;
      if (k.length > limits.maxStringLength) {
        return `a field name at ${path || '/'} is ${k.length} characters long; at most ${limits.maxStringLength} are accepted (server.limits.max_string_length)`;
      }
      stack.push({ value: (value as Record<string, unknown>)[k], depth: depth + 1, path: at });
    }
  }
  return undefined;
}

/** A field name as a JSON Pointer token (RFC 6901), shortened so a message stays one readable line. */
function pointerToken(key: string): string {
  const t = key.replace(/~/g, '~0').replace(/\//g, '~1');
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

/** Index of the first control character or lone UTF-16 surrogate in `s`, or -1. */
function unprintableAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return i;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}
