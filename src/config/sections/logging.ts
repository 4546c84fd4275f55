/** `logging:`: how much the server and workers log (pino levels). */
import { type Static, Type } from '@sinclair/typebox';
import { choice, withDefault } from './kinds.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const loggingSettings = Type.Object(
  {
    level: withDefault(choice(LOG_LEVELS, { description: 'The least severe level written to the log; silent: none.' }), 'info'),
  },
  { additionalProperties: false, description: 'The log: structured (pino), with secrets and record payloads redacted.' },
);

type LoggingSettings = Static<typeof loggingSettings>;

/** `logging:`, resolved. */
export interface LoggingConfig {
  level: string;
}

export function resolveLogging(s: LoggingSettings): LoggingConfig {
  return { level: s.level };
}
