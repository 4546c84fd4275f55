import pino, { type Logger } from 'pino';

/** Redacted paths: record payloads and secrets never reach the logs. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'body',
  'record',
  '*.body',
  '*.record',
  'headers.authorization',
  'req.headers["x-csrf-token"]',
  'req.headers["x-api-key"]',
  'password',
  'token',
  '*.password',
  '*.token',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: LOG_REDACT, censor: '[redacted]' } }, destination as pino.DestinationStream | undefined);
}
