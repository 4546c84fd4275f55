import type { Command } from 'commander';
import { parseRate } from '../config/units.js';
import { destinationStatus, discardDeadLetter, listDeadLetters, replayDeadLetters, showDeadLetter } from '../delivery/dead-letters.js';
import { parseFaults, simulatorPresets, startVendorSimulator } from '../delivery/simulator.js';
import { AirlockError } from '../errors.js';
import { type ActingOptions, actingAs, addActingOptions, withRuntime } from './admin.js';
import { registerLoadtestCommand } from './loadtest.js';
import { action, printJson } from './output.js';

const idArg = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new AirlockError('USAGE', `a dead-letter id is a positive whole number, got "${v}"`);
  return n;
};

/** `airlock deliveries list|show|replay|discard|status`, `airlock simulate-vendor` and `airlock loadtest`. */
export function registerDeliveryCommands(program: Command): void {
  registerLoadtestCommand(program);
  const deliveries = program
    .command('deliveries')
    .description('dead letters (list, show, replay, discard) and the state of each destination');

  deliveries
    .command('list')
    .description('dead letters, newest first')
    .option('-p, --pipeline <name>', 'only this pipeline')
    .option('-d, --destination <name>', 'only this destination')
    .option('--discarded', 'list discarded dead letters instead')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 100)
    .option(
      '--json',
      'print { dead_letters: [{ id, pipeline, record_id, destination, attempts, last_status, last_error, dead_lettered_at, case_id }], total }',
    )
    .action(
      action(
        async (opts: { pipeline?: string; destination?: string; discarded?: boolean; limit: number; json?: boolean }, cmd: Command) => {
          const out = await withRuntime(cmd, (rt) =>
            listDeadLetters(rt, { ...opts, status: opts.discarded ? 'discarded' : 'dead_lettered', limit: opts.limit }),
          );
          if (opts.json) return printJson(out);
          if (out.total === 0) {
            process.stdout.write('no dead letters\n');
            return;
          }
          for (const d of out.dead_letters)
            process.stdout.write(
              `#${d.id}  ${d.pipeline}/${d.record_id} → ${d.destination}  ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}  ${d.last_error ?? d.last_status ?? ''}  (${d.dead_lettered_at})${d.case_id ? `  case ${d.case_id}` : ''}\n`,
            );
          if (out.total > out.dead_letters.length) process.stdout.write(`… ${out.total - out.dead_letters.length} more (--limit)\n`);
        },
      ),
    );

  deliveries
    .command('show <id>')
    .description('one dead letter: the request (without credentials), the last response and every attempt')
    .option('--json', 'print { id, …, request, response, attempt_log, history }')
    .action(
      action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const d = await withRuntime(cmd, (rt) => showDeadLetter(rt, idArg(id)));
        if (opts.json) return printJson(d);
        const lines = [
          `dead letter #${d.id}: ${d.pipeline}/${d.record_id} → ${d.destination} (${d.status}; record ${d.record_status})`,
          `  idempotency key ${d.idempotency_key}`,
          `  request: ${d.request?.method} ${d.request?.url}`,
          `  last response: ${d.response ? `${d.response.status} ${JSON.stringify(d.response.body).slice(0, 200)}` : (d.last_error ?? 'none')}`,
          `  attempts (${d.attempts}):`,
          ...d.attempt_log.map((a) =>
            `    ${a.at}  ${a.kind.replace('delivery_', '')}  ${String(a.detail.status ?? '')} ${String(a.detail.error ?? '')}`.trimEnd(),
          ),
          ...d.history.map((h) => `  ${h.at}  ${h.kind.replace('delivery_', '')} by ${String(h.detail.by ?? 'unknown')}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  addActingOptions(
    deliveries
      .command('replay [ids...]')
      .description('put dead letters back in the outbox (the record goes back to decided until delivered)')
      .option('-p, --pipeline <name>', 'replay the dead letters of this pipeline')
      .option('-d, --destination <name>', 'replay the dead letters of this destination')
      .option('--all', 'replay every dead letter (up to --limit)')
      .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 1000),
  )
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { replayed: [ids], skipped: [{ id, reason }] }')
    .action(
      action(
        async (
          ids: string[],
          opts: ActingOptions & { pipeline?: string; destination?: string; all?: boolean; limit: number; note?: string; json?: boolean },
          cmd: Command,
        ) => {
          if (ids.length === 0 && !opts.all && !opts.pipeline && !opts.destination)
            throw new AirlockError('USAGE', 'name dead-letter ids, or --pipeline/--destination, or --all');
          const out = await withRuntime(cmd, async (rt) =>
            replayDeadLetters(
              rt,
              ids.length > 0 ? { ids: ids.map(idArg) } : { pipeline: opts.pipeline, destination: opts.destination, limit: opts.limit },
              { actor: await actingAs(rt, opts), note: opts.note },
            ),
          );
          if (opts.json) return printJson(out);
          process.stdout.write(
            `replayed ${out.replayed.length} dead letter${out.replayed.length === 1 ? '' : 's'}; a running server delivers them\n`,
          );
          for (const s of out.skipped) process.stdout.write(`  skipped #${s.id}: ${s.reason}\n`);
          return out.skipped.length > 0 ? 1 : 0;
        },
      ),
    );

  addActingOptions(
    deliveries
      .command('discard <id>')
      .description('give up on a dead letter, with a reason (audited; its review case is resolved)')
      .requiredOption('--reason <text>', 'why it will never be delivered'),
  )
    .option('--json', 'print the dead letter as discarded')
    .action(
      action(async (id: string, opts: ActingOptions & { reason: string; json?: boolean }, cmd: Command) => {
        const d = await withRuntime(cmd, async (rt) =>
          discardDeadLetter(rt, idArg(id), { actor: await actingAs(rt, opts), reason: opts.reason }),
        );
        if (opts.json) return printJson(d);
        process.stdout.write(`dead letter #${d.id} (${d.pipeline}/${d.record_id} → ${d.destination}) discarded\n`);
      }),
    );

  deliveries
    .command('status')
    .description('each destination: limits (configured and found), circuit breaker, queue and dead letters')
    .option(
      '--json',
      'print { destinations: [{ pipeline, destination, rate_limit, found_limit, quotas, order_by, breaker, deliveries, … }] }',
    )
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const out = await withRuntime(cmd, (rt, airlock) => destinationStatus(rt, airlock.workers.deliveryStages));
        if (opts.json) return printJson(out);
        for (const d of out.destinations) {
          const limit = d.rate_limit
            ? d.rate_limit.text
            : d.found_limit
              ? `found ${d.found_limit.per_second.toFixed(1)}/s (${d.found_limit.source})`
              : 'adaptive';
          process.stdout.write(
            `${d.pipeline}/${d.destination} (${d.type}${d.preset ? ` ${d.preset.plan}` : ''})  limit ${limit}  breaker ${d.breaker.state} (opened ${d.breaker.openings}×)  pending ${d.deliveries.pending}  delivered ${d.deliveries.delivered}  dead letters ${d.deliveries.dead_lettered}` +
              d.quotas.map((q) => `  quota ${q.quota}: ${q.used} used`).join('') +
              (d.order_by ? `  ordered by ${d.order_by}` : '') +
              '\n',
          );
        }
      }),
    );

  program
    .command('simulate-vendor')
    .description('run a vendor API simulator (limits, rate-limit headers, faults) on loopback; GET /_stats reports what it saw')
    .requiredOption('--preset <name>', `one of: ${simulatorPresets().join(', ')}`)
    .option('--port <port>', 'listen on this port', (v) => Number.parseInt(v, 10), 9100)
    .option('--host <host>', 'listen on this address', '127.0.0.1')
    .option('--limit <rate>', "override the preset's limit, e.g. 200/s (scaled tests)")
    .option('--window <kind>', 'fixed (windows that reset) or bucket (token bucket)')
    .option('--faults <list>', 'e.g. 503=0.3,reset=0.02,hang=0.01,latency=20ms,outage=30s+20s')
    .option('--no-idempotency', 'apply every request, repeated keys too (duplicates then show in /_stats)')
    .option('--seed <n>', 'seed of the fault dice', (v) => Number.parseInt(v, 10), 1)
    .action(
      action(
        async (opts: {
          preset: string;
          port: number;
          host: string;
          limit?: string;
          window?: string;
          faults?: string;
          idempotency: boolean;
          seed: number;
        }) => {
          let faults: ReturnType<typeof parseFaults> | undefined;
          let limit: ReturnType<typeof parseRate> | undefined;
          try {
            faults = opts.faults ? parseFaults(opts.faults) : undefined;
            limit = opts.limit ? parseRate(opts.limit) : undefined;
          } catch (err) {
            throw new AirlockError('USAGE', (err as Error).message);
          }
          if (opts.window !== undefined && opts.window !== 'fixed' && opts.window !== 'bucket')
            throw new AirlockError('USAGE', `--window is fixed or bucket, got "${opts.window}"`);
          if (!simulatorPresets().includes(opts.preset))
            throw new AirlockError('USAGE', `unknown preset "${opts.preset}" (known: ${simulatorPresets().join(', ')})`);
          const sim = await startVendorSimulator({
            preset: opts.preset,
            port: opts.port,
            host: opts.host,
            limit,
            window: opts.window as 'fixed' | 'bucket' | undefined,
            faults,
            idempotency: opts.idempotency,
            seed: opts.seed,
          });
          const p = sim.plan;
          process.stdout.write(
            `simulating ${opts.preset} (${p.rate.text}, ${p.window} window${p.extra.length ? `, plus ${p.extra.map((r) => r.text).join(', ')}` : ''}) on ${sim.url}; stats at ${sim.url}/_stats\n`,
          );
          const stop = () => {
            void sim.close().then(() => process.exit(0));
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
          await new Promise(() => {});
        },
      ),
    );
}
