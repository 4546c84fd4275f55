import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchema, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { AirlockConfig } from '../config/airlock-config.js';
import { isLoopbackHost } from '../config/sections/server.js';
import { AirlockError } from '../errors.js';
import { type Airlock, createAirlock } from '../pipeline/airlock.js';
import type { Clock } from '../runtime/context.js';
import type { Store } from '../store/db.js';
import type { ReviewDoor, RouteAccess } from './access.js';
import { addSharedAnswers, SHARED_SCHEMAS } from './answers.js';
import { registerApiDocument } from './api-document.js';
import { registerAuth, routeAccess } from './auth.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerBodyParsers } from './body.js';
import { CONSOLE_ASSETS, registerConsole } from './console.js';
import { registerContractRoutes } from './contract-routes.js';
import { registerDecisionRoutes } from './decision-routes.js';
import { registerDeliveryRoutes } from './delivery-routes.js';
import { registerDriftRoutes } from './drift-routes.js';
import { problem, sendProblem, toProblem } from './problem.js';
import { registerQuarantineRoutes } from './quarantine-routes.js';
import { registerReadinessRoutes } from './readiness-routes.js';
import { registerRecordRoutes } from './record-routes.js';
import { registerRequestLog, requestIdOf } from './request-log.js';
import { registerReviewMetricsRoutes } from './review-metrics-routes.js';
import { registerReviewRoutes } from './review-routes.js';
import { registerRoutingRoutes } from './routing-routes.js';
import { registerSystemRoutes } from './system-routes.js';
import { registerThresholdRoutes } from './threshold-routes.js';
import { registerUserRoutes } from './user-routes.js';
import { describeValidation, validatorCompiler } from './validation.js';

export type ServerRole = 'api' | 'worker' | 'all';

export interface CreateServerOptions {
  /** api: HTTP only; worker: stages only (no HTTP); all (default): both. */
  role?: ServerRole;
  clock?: Clock;
  logger?: Logger;
  store?: Store;
}

/** A route the server registered, as it describes itself: its access rule and its schemas. */
export interface RegisteredRoute {
  method: string;
  url: string;
  access: RouteAccess;
  /** How it acts on review work (null: it does not; undefined: a read). */
  review: ReviewDoor | null | undefined;
  schema: (FastifySchema & { hide?: boolean; operationId?: string }) | undefined;
  /** Not part of the HTTP API (the console's page shell and bundle): left out of the OpenAPI document. */
  hidden: boolean;
}

export interface AirlockServer {
  app: FastifyInstance;
  airlock: Airlock;
  role: ServerRole;
  /** Every route as `METHOD /path` (HEAD left out). */
  routes: string[];
  /** Every route with its own access rule and schemas (HEAD left out). */
  registered: RegisteredRoute[];
  /** Starts the workers (roles worker and all) and the HTTP listener (roles api and all); resolves to its URL. */
  listen(options?: { port?: number; host?: string }): Promise<string | undefined>;
  close(): Promise<void>;
}

/** `/v1/review/cases/:id` as a pattern matching a request path. */
const pathPattern = (url: string) =>
  new RegExp(
    `^${url
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/:\w+/g, '[^/]+')}$`,
  );

/** Builds the Airlock HTTP server (Fastify) and the workers of the config's pipelines. */
export async function createServer(config: AirlockConfig, options: CreateServerOptions = {}): Promise<AirlockServer> {
  const role = options.role ?? 'all';
  const airlock = await createAirlock(config, { clock: options.clock, logger: options.logger, store: options.store });
  const rt = airlock.runtime;
  const app = Fastify({
    loggerInstance: rt.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimit,
    // One line per request, with its id (src/server/request-log.ts), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdOf,
    return503OnClosing: true,
    // server.trust_proxy: the client's address and scheme from X-Forwarded-* of the proxies named; true believes the
    // nearest hop only (believing every hop would let a client name any address it likes).
    trustProxy: config.server.trustProxy === true ? (_address: string, hop: number) => hop === 0 : config.server.trustProxy,
    schemaErrorFormatter: describeValidation,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Requests are validated against the route schemas; answers are written as they are (JSON.stringify): response
  // schemas document and type them but never drop a field.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Every route with its own rule and schemas: the access test, the 405 answer and /v1/auth/me read them.
  const registered: RegisteredRoute[] = [];
  app.addHook('onRoute', (r) => {
    addSharedAnswers(r);
    for (const method of ([] as string[]).concat(r.method)) {
      if (method === 'HEAD') continue;
      const schema = r.schema as RegisteredRoute['schema'];
      registered.push({
        method,
        url: r.url,
        access: routeAccess(r) as RouteAccess,
        review: (r.config as { review?: ReviewDoor | null } | undefined)?.review,
        schema,
        hidden: schema?.hide === true || r.url === CONSOLE_ASSETS,
      });
    }
  });
  const ruleOf = (route: string) => registered.find((r) => `${r.method} ${r.url}` === route)?.access;

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  registerRequestLog(app);
  registerBodyParsers(app, config.server.limits.maxDepth);
  await registerApiDocument(app);
  await registerAuth(app, rt);

  // A write sent without a body is an empty object (`POST …/halt/accept` needs nothing more); its schema says the rest.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && (req.routeOptions.schema?.body as { type?: unknown } | undefined)?.type === 'object') req.body = {};
  });

  app.setErrorHandler((err, req, reply) => {
    const { problem: p, headers } = toProblem(err);
    if (p.status >= 500 && p.code !== 'DATABASE_UNAVAILABLE') req.log.error({ err }, 'request failed');
    return sendProblem(reply, { ...p, instance: req.url }, headers);
  });
  // A path the server has, asked with a method it does not have: 405 with the methods it has (RFC 9110 §15.5.6).
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const methods = [...new Set(registered.filter((r) => pathPattern(r.url).test(path)).map((r) => r.method))];
    if (methods.length > 0 && !methods.includes(req.method === 'HEAD' ? 'GET' : req.method)) {
      const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
      return sendProblem(reply, problem(405, 'METHOD_NOT_ALLOWED', `${path} answers ${allow.join(', ')}, not ${req.method}`), {
        allow: allow.join(', '),
      });
    }
    return sendProblem(reply, problem(404, 'NOT_FOUND', `no route ${req.method} ${path}`));
  });

  registerSystemRoutes(app, rt);
  registerAuthRoutes(app, rt, ruleOf);
  registerUserRoutes(app, rt);
  registerRecordRoutes(app, airlock);
  registerContractRoutes(app, rt);
  registerQuarantineRoutes(app, rt);
  registerThresholdRoutes(app, airlock);
  registerRoutingRoutes(app, airlock);
  registerReviewRoutes(app, rt);
  registerDecisionRoutes(app, rt);
  registerReviewMetricsRoutes(app, rt);
  registerDeliveryRoutes(app, rt, airlock.workers.deliveryStages);
  registerDriftRoutes(app, rt);
  registerReadinessRoutes(app, rt);
  await registerConsole(app);

  let listening = false;
  return {
    app,
    airlock,
    role,
    get routes() {
      return registered.map((r) => `${r.method} ${r.url}`);
    },
    registered,
    async listen(opts = {}) {
      const host = opts.host ?? config.server.host;
      // auth: off makes every caller an admin: only where no one else can reach it. Checked on the host actually
      // bound (a --host flag, the config, an env variable in it), before anything starts, and on the addresses after.
      const offRefused = (where: string) =>
        new AirlockError(
          'USAGE',
          `server.auth: off is allowed only on a loopback host (127.0.0.1, ::1, localhost), and serve would listen on ${where}: ` +
            'without sign-in every caller would be an admin. Listen on 127.0.0.1, or set server.auth: required and add users (airlock users add).',
        );
      if (role !== 'worker' && config.server.auth === 'off' && !isLoopbackHost(host))
        throw offRefused(opts.host ? `${host} (--host)` : host);
      if (role !== 'api') airlock.workers.start();
      if (role === 'worker') return undefined;
      const address = await app.listen({ port: opts.port ?? config.server.port, host });
      listening = true;
      if (config.server.auth === 'off') {
        const open = app.addresses().find((a) => typeof a === 'object' && !isLoopbackAddress(a.address));
        if (open && typeof open === 'object') {
          await app.close();
          listening = false;
          throw offRefused(`${open.address} (${host} resolves there)`);
        }
      }
      return address;
    },
    async close() {
      if (listening) await app.close();
      else await app.close().catch(() => {});
      await airlock.close();
    },
  };
}

/** An address a listening socket is bound to that only this machine can reach (127.0.0.0/8, ::1, IPv4-mapped loopback). */
function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}
