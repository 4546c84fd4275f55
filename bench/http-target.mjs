// A server under load, run as a child process so that the load generator (autocannon, in the parent) does
// not share its event loop. argv: `airlock <database-url> <dir>` or `bare`.
// Tells the parent its URL over IPC; on the message 'stop' it answers { stored } and exits.
import Fastify from 'fastify';
import { Ingestor } from '../dist/pipeline/ingest.js';
import { createServer } from '../dist/server/app.js';
import { benchConfig } from './workload.mjs';

const [kind, database, dir] = process.argv.slice(2);

// Instrumentation only (behaviour unchanged): count the Ingestor's transactions and the requests they carry,
// to show how well group commit shares one transaction between concurrent requests. Skipped if the private
// method is renamed.
const commits = { transactions: 0, jobs: 0 };
const commit = Ingestor.prototype.commit;
if (typeof commit === 'function') {
  Ingestor.prototype.commit = function (jobs) {
    commits.transactions++;
    commits.jobs += jobs.length;
    return commit.call(this, jobs);
  };
}

async function start() {
  if (kind === 'airlock') {
    const server = await createServer(benchConfig(dir, database), { role: 'api' });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    return {
      url,
      async stop() {
        const db = server.airlock.runtime.store.db;
        const r = await db
          .selectFrom('records')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow();
        await server.close();
        return { stored: Number(r.n), ...commits };
      },
    };
  }
  if (kind === 'bare') {
    // The peer: Fastify's own JSON parser, no storage, 202.
    const app = Fastify({ logger: false });
    app.post('/v1/pipelines/:pipeline/records', async (req, reply) => {
      reply.code(202);
      return { pipeline: req.params.pipeline, accepted: 1, ids: [req.body.id] };
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url,
      async stop() {
        await app.close();
        return { stored: null };
      },
    };
  }
  throw new Error(`unknown target ${kind}`);
}

const target = await start();
process.on('message', async (m) => {
  if (m === 'reset') {
    commits.transactions = 0;
    commits.jobs = 0;
    process.send({ reset: true });
    return;
  }
  if (m !== 'stop') return;
  // Let requests whose client has gone (autocannon drops its sockets at the end) finish before closing:
  // Airlock's close() does not wait for the ingest queue to drain.
  await new Promise((r) => setTimeout(r, 1000));
  const out = await target.stop();
  process.send({ stopped: out }, () => process.exit(0));
});
process.send({ url: target.url });
