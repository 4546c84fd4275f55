/** Durations (`500ms`, `2s`, `5m`, `4h`, `1d`) and rates (`20/s`, `700/min`, `100/10s`, `1000000/day`) of the config. */

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const RATE_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|min|h|d)\\s*$';
export const RATE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*/\\s*(\\d+(\\.\\d+)?)?\\s*(ms|s|sec|m|min|h|hour|d|day)\\s*$';

/** Parses a duration into milliseconds; throws on anything else. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (expected e.g. 500ms, 2s, 5m, 4h, 1d)`);
  return Number(m[1]) * DURATION_UNITS_MS[m[2]];
}

export interface Rate {
  /** Number of events allowed per interval. */
  count: number;
  /** Length of the interval in milliseconds. */
  intervalMs: number;
  /** The text it was parsed from, for messages. */
  text: string;
}

/** Parses a rate such as `10/s` or `100/10s` into a count per interval. */
export function parseRate(text: string): Rate {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|sec|m|min|h|hour|d|day)\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a rate (expected e.g. 20/s, 700/min, 100/10s, 1000000/day)`);
  const count = Number(m[1]);
  const multiple = m[2] === undefined ? 1 : Number(m[2]);
  const intervalMs = multiple * RATE_UNITS_MS[m[3]];
  if (count <= 0 || intervalMs <= 0) throw new Error(`"${text}" must allow a positive number of events per positive interval`);
  return { count, intervalMs, text: text.trim() };
}

/** Formats milliseconds the way the config writes them (for messages and runbooks). */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Parses a byte size such as `10mb`, `512kb` or a plain number of bytes. */
export function parseByteSize(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) throw new Error(`"${text}" is not a size (expected e.g. 512kb, 10mb)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit === 'gb' ? 1024 ** 3 : unit === 'mb' ? 1024 ** 2 : unit === 'kb' ? 1024 : 1;
  return Math.round(Number(m[1]) * mult);
}
