/**
 * Sign-in throttling (OWASP Authentication Cheat Sheet: throttle by account and by source, back off exponentially):
 *
 * - per source address and name: 10 attempts in 15 minutes; per source address: 50 (an IPv6 address counts by its
 *   /64, the block one host can rotate through freely);
 * - per account, across every address: after 5 failures in 15 minutes each further attempt waits 1, 3, 7, 15 … s
 *   (2^(f−5) − 1, at most 15 minutes) after the last failure; a success clears the account's failures. A backoff, not
 *   a lockout: the owner can still sign in once the wait is over, so guessing is slow and nobody is locked out;
 * - a refused attempt creates no entry and extends no wait; keys are hashes, never the name itself, and each table is
 *   a bounded LRU (the least recently seen key goes first), so no input can make the throttle grow without bound.
 */
import { createHash } from 'node:crypto';

const WINDOW_MS = 15 * 60_000;
const PER_ADDRESS_AND_NAME = 10;
const PER_ADDRESS = 50;
const ACCOUNT_FREE_FAILURES = 5;
const MAX_ACCOUNT_WAIT_MS = 15 * 60_000;

/** A Map that keeps at most `max` keys, forgetting the least recently used. */
class BoundedLru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}

/** The part of a client address that identifies a source: an IPv4 address whole, an IPv6 address by its /64. */
export function sourceOf(address: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (v4) return v4[1];
  if (!address.includes(':')) return address;
  // Expand "::" so the first four groups are the /64 prefix.
  const [head, tail = ''] = address.split('%')[0].toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const hashOf = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);

export class LoginThrottle {
  /** Attempt times per (source, name) and per source, newest last. */
  private readonly attempts = new BoundedLru<number[]>(20_000);
  /** Failure times per account, newest last. */
  private readonly failures = new BoundedLru<number[]>(20_000);

  /**
   * Whether an attempt may go ahead now; when not, the seconds to wait. An allowed attempt is counted; a refused one
   * is not.
   */
  admit(address: string, name: string, now: number): { allowed: true } | { allowed: false; waitSeconds: number } {
    const source = sourceOf(address);
    const keys: [string, number][] = [
      [hashOf('source+name', source, name), PER_ADDRESS_AND_NAME],
      [hashOf('source', source), PER_ADDRESS],
    ];
    let waitMs = 0;
    for (const [key, limit] of keys) {
      const recent = (this.attempts.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
      if (recent.length >= limit) waitMs = Math.max(waitMs, recent[0] + WINDOW_MS - now);
    }
    const failed = (this.failures.get(hashOf('account', name)) ?? []).filter((t) => t > now - WINDOW_MS);
    if (failed.length >= ACCOUNT_FREE_FAILURES) {
      const backoff = Math.min(MAX_ACCOUNT_WAIT_MS, (2 ** (failed.length - ACCOUNT_FREE_FAILURES + 1) - 1) * 1000);
      waitMs = Math.max(waitMs, failed[failed.length - 1] + backoff - now);
    }
    if (waitMs > 0) return { allowed: false, waitSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    for (const [key] of keys) {
      const recent = (this.attempts.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
      recent.push(now);
      this.attempts.set(key, recent);
    }
    return { allowed: true };
  }

  /** After an admitted attempt: a failure counts against the account, a success clears it. */
  settle(name: string, succeeded: boolean, now: number): void {
    const key = hashOf('account', name);
    if (succeeded) {
      this.failures.delete(key);
      return;
    }
    const failed = (this.failures.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    failed.push(now);
    // Only the newest failures matter for the backoff; keep at most enough of them to reach the longest wait.
    this.failures.set(key, failed.slice(-32));
  }

  /** Keys held, for tests and metrics. */
  get size(): number {
    return this.attempts.size + this.failures.size;
  }
}
