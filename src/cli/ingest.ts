import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { action, Progress, printJson } from './output.js';
import { detectFormat, readRecords } from './read-records.js';

interface IngestOptions {
  pipeline: string;
  url?: string;
  token?: string;
  batchSize: number;
  format?: string;
  json?: boolean;
}

interface Refusal {
  line: number;
  id?: string;
  reason: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's URL: --url, else AIRLOCK_URL, else the config's server block, else http://127.0.0.1:8080. */
function serverUrl(explicit: string | undefined, configPath: string | undefined): string {
  if (explicit) return explicit;
  if (process.env.AIRLOCK_URL) return process.env.AIRLOCK_URL;
  const path = resolveConfigPath(configPath);
  if (existsSync(path)) {
    const c = loadConfig(path);
    const host = c.server.host === '0.0.0.0' || c.server.host === '::' ? '127.0.0.1' : c.server.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${c.server.port}`;
  }
  return 'http://127.0.0.1:8080';
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('send a JSONL, JSON or CSV/TSV file (gzip too) to a running server, in batches')
    .argument('<file>', 'the records to send')
    .requiredOption('-p, --pipeline <name>', 'the pipeline to send them to')
    .option('--url <url>', 'the server (default: AIRLOCK_URL, else the config’s server block)')
    .option('--token <token>', 'bearer token (default: AIRLOCK_TOKEN)')
    .option('--batch-size <n>', 'records per request', (v) => Number.parseInt(v, 10), 500)
    .option('--format <format>', 'jsonl | json | csv | tsv (default: from the file name)')
    .option('--json', 'print { sent, accepted, existing, quarantined, refused: [{ line, id, reason }] }')
    .action(
      action(async (file: string, opts: IngestOptions, cmd: Command) => {
        if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1 || opts.batchSize > 10_000) {
          throw new AirlockError('USAGE', '--batch-size must be a whole number from 1 to 10000');
        }
        const g = cmd.optsWithGlobals() as { config?: string };
        const base = serverUrl(opts.url, g.config).replace(/\/+$/, '');
        const token = opts.token ?? process.env.AIRLOCK_TOKEN;
        const format = detectFormat(file, opts.format);
        const endpoint = `${base}/v1/pipelines/${encodeURIComponent(opts.pipeline)}/records`;
        const progress = new Progress(`ingest → ${opts.pipeline}`);
        const totals = { sent: 0, accepted: 0, existing: 0, quarantined: 0 };
        const refused: Refusal[] = [];
        let batch: { line: number; value: unknown }[] = [];
        let reached = false;

        const flush = async () => {
          if (batch.length === 0) return;
          const lines = batch.map((b) => b.line);
          const body = `${batch.map((b) => JSON.stringify(b.value)).join('\n')}\n`;
          const result = await post(endpoint, body, token, reached);
          reached = true;
          totals.sent += batch.length;
          for (const r of result.records ?? []) {
            if (r.existing) totals.existing++;
            else totals.accepted++;
            if (r.status === 'quarantined' && !r.existing) totals.quarantined++;
          }
          for (const r of result.refused ?? []) refused.push({ line: lines[r.index], id: r.id, reason: r.message });
          batch = [];
          progress.update(totals.sent, undefined, refused.length ? `${refused.length} refused` : '');
        };

        for await (const item of readRecords(file, format)) {
          if ('error' in item) {
            refused.push({ line: item.line, reason: item.error });
            continue;
          }
          batch.push(item);
          if (batch.length >= opts.batchSize) await flush();
        }
        await flush();
        progress.done(totals.sent, undefined, refused.length ? `${refused.length} refused` : '');
        refused.sort((a, b) => a.line - b.line);
        if (opts.json) {
          printJson({ pipeline: opts.pipeline, ...totals, refused });
        } else {
          process.stdout.write(
            `${totals.accepted} accepted (${totals.quarantined} quarantined), ${totals.existing} already stored, ${refused.length} refused — ${file} → ${opts.pipeline}\n`,
          );
          for (const r of refused.slice(0, 20)) process.stdout.write(`  line ${r.line}${r.id ? ` (id ${r.id})` : ''}: ${r.reason}\n`);
          if (refused.length > 20) process.stdout.write(`  … and ${refused.length - 20} more (use --json for all)\n`);
        }
        return refused.length > 0 ? 1 : 0;
      }),
    );
}

interface IngestAnswer {
  records?: { index: number; id: string; status: string; existing: boolean }[];
  refused?: { index: number; id?: string; message: string }[];
}

/** POSTs one batch; retries 429/503 and connection errors with backoff, honouring Retry-After. */
async function post(endpoint: string, body: string, token: string | undefined, reachedBefore: boolean): Promise<IngestAnswer> {
  // A server that answered before is given time to come back (a restart); one never reached fails fast.
  const maxAttempts = reachedBefore ? 8 : 3;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (attempt >= maxAttempts) {
        throw new AirlockError(
          'DATABASE_UNAVAILABLE',
          `cannot reach ${new URL(endpoint).origin}: ${e.cause?.code ?? (e.cause as Error | undefined)?.message ?? e.message} (is \`airlock serve\` running? --url or AIRLOCK_URL)`,
        );
      }
      await sleep(Math.min(10_000, 250 * 2 ** attempt));
      continue;
    }
    const text = await res.text();
    if ((res.status === 503 || res.status === 429) && attempt < maxAttempts) {
      const ra = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(ra) && ra > 0 ? ra * 1000 : Math.min(10_000, 250 * 2 ** attempt));
      continue;
    }
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: reported below */
    }
    if (res.status === 202 || res.status === 207) return json as IngestAnswer;
    if ((res.status === 409 || res.status === 400) && Array.isArray(json.refused))
      return { records: [], refused: json.refused as IngestAnswer['refused'] };
    const detail = typeof json.detail === 'string' ? json.detail : text.slice(0, 200);
    throw new AirlockError(res.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', `the server answered ${res.status}: ${detail}`);
  }
}
