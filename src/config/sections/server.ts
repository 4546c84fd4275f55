/** `server:`: where the HTTP server listens, how people sign in, and what one ingest request may hold. */
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext } from '../problems.js';
import { parseByteSize, parseDuration } from '../units.js';
import { choice, defaultBlock, duration, EXPECTED, withDefault } from './kinds.js';

/** What one ingest request may hold: `server.limits` in the config (docs/guides/operations.md, "Limits"). */
export interface IngestLimits {
  /** Most records in one request (413 above it). */
  maxRecords: number;
  /** Deepest nesting of objects and arrays in a record; the record itself is level 1. */
  maxDepth: number;
  /** Most fields in a record, nested ones included. */
  maxFields: number;
  /** Longest string in a record (keys included), in UTF-16 code units. */
  maxStringLength: number;
}

/** The limits when the config sets none (also the defaults of `server.limits`). */
export const DEFAULT_INGEST_LIMITS: IngestLimits = { maxRecords: 10_000, maxDepth: 64, maxFields: 1000, maxStringLength: 1_000_000 };

export const serverSettings = Type.Object(
  {
    host: withDefault(Type.String({ description: 'The address the server listens on (127.0.0.1: this machine only).' }), '127.0.0.1'),
    port: withDefault(Type.Integer({ minimum: 0, maximum: 65535, description: 'The TCP port the server listens on.' }), 8080),
    body_limit: withDefault(
      Type.Unsafe<string | number>({
        type: ['string', 'integer'],
        description: 'Largest request body accepted (413 above it).',
        [EXPECTED]: 'a size such as 512kb or 10mb',
      }),
      '10mb',
    ),
    auth: withDefault(
      choice(['required', 'off'], {
        description:
          'required: every /v1 request signs in (session cookie from /v1/auth/login, or Authorization: Bearer TOKEN) and acts within its role. off: no sign-in, every request acts as an admin — only on a loopback host, for a laptop.',
        [EXPECTED]: 'required or off',
      }),
      'required',
    ),
    session_ttl: withDefault(duration('How long a sign-in lasts at most, however active (absolute expiry).'), '12h'),
    session_idle: withDefault(duration('A sign-in ends after this long without a request (idle expiry).'), '1h'),
    metrics_public: withDefault(
      Type.Boolean({
        description: 'true: GET /metrics answers without sign-in (for scrapers); false: it needs a signed-in role or token.',
      }),
      true,
    ),
    limits: defaultBlock(
      Type.Object(
        {
          max_records: withDefault(
            Type.Integer({ minimum: 1, description: 'Most records in one request (413 above it).' }),
            DEFAULT_INGEST_LIMITS.maxRecords,
          ),
          max_depth: withDefault(
            Type.Integer({
              minimum: 1,
              maximum: 1000,
              description: 'Deepest nesting of objects and arrays in a record; the record itself is level 1 (refused above it).',
            }),
            DEFAULT_INGEST_LIMITS.maxDepth,
          ),
          max_fields: withDefault(
            Type.Integer({ minimum: 1, description: 'Most fields in a record, nested ones included (refused above it).' }),
            DEFAULT_INGEST_LIMITS.maxFields,
          ),
          max_string_length: withDefault(
            Type.Integer({ minimum: 1, description: 'Longest string in a record, in characters, keys included (refused above it).' }),
            DEFAULT_INGEST_LIMITS.maxStringLength,
          ),
        },
        {
          additionalProperties: false,
          description:
            'Limits on what one ingest request may hold (docs/guides/operations.md, "Limits"); a record over one is refused with the reason.',
        },
      ),
    ),
    trust_proxy: withDefault(
      Type.Union([Type.Boolean(), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
        description:
          "Behind a TLS-terminating proxy: which proxies' X-Forwarded-For and X-Forwarded-Proto to believe — true: the nearest hop, or a list of their addresses or CIDRs (e.g. [10.0.0.0/8]). Then client addresses (sign-in throttling, request logs) and Secure cookies are right. false: the socket's address and scheme.",
        [EXPECTED]: 'true, false, or a list of proxy addresses or CIDRs',
      }),
      false,
    ),
    public_url: Type.Optional(
      Type.String({
        pattern: '^https?://',
        [EXPECTED]: 'an http(s) URL',
        description: 'The address people use to reach the console (alert links); default http://HOST:PORT.',
      }),
    ),
  },
  { additionalProperties: false, description: 'The HTTP server: where it listens, how people sign in, what a request may hold.' },
);

type ServerSettings = Static<typeof serverSettings>;

/** `server:`, resolved. */
export interface ServerConfig {
  host: string;
  port: number;
  bodyLimit: number;
  auth: 'required' | 'off';
  sessionTtlMs: number;
  /** A session ends after this long without a request (server.session_idle). */
  sessionIdleMs: number;
  /** GET /metrics answers without sign-in (server.metrics_public, default true: scrapers rarely sign in). */
  metricsPublic: boolean;
  publicUrl?: string;
  /** Which proxies' X-Forwarded-* headers are believed (server.trust_proxy): none, the nearest hop, or these. */
  trustProxy: boolean | string[];
  /** What one ingest request may hold (docs/guides/operations.md, "Limits"). */
  limits: IngestLimits;
}

/** 127.0.0.0/8, ::1 and localhost: a server only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function resolveServer(s: ServerSettings, { report }: ResolveContext): ServerConfig {
  if (s.auth === 'off' && !isLoopbackHost(s.host)) {
    report(['server', 'auth'], `auth: off is allowed only on a loopback host (server.host is ${s.host}); sign-in protects everything else`);
  }
  let bodyLimit = 0;
  try {
    bodyLimit = parseByteSize(s.body_limit);
  } catch (err) {
    report(['server', 'body_limit'], (err as Error).message);
  }
  return {
    host: s.host,
    port: s.port,
    bodyLimit,
    auth: s.auth,
    sessionTtlMs: parseDuration(s.session_ttl),
    sessionIdleMs: parseDuration(s.session_idle),
    metricsPublic: s.metrics_public,
    ...(s.public_url ? { publicUrl: s.public_url.replace(/\/+$/, '') } : {}),
    trustProxy: s.trust_proxy,
    limits: {
      maxRecords: s.limits.max_records,
      maxDepth: s.limits.max_depth,
      maxFields: s.limits.max_fields,
      maxStringLength: s.limits.max_string_length,
    },
  };
}
