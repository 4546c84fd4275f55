/**
 * Every request Airlock itself sends out — deliveries, alert webhooks, escalation webhooks, model calls — goes
 * through here, so no answer can take more than its share:
 *
 * - the answer's body is read up to `maxBytes` (64 kB by default) and the rest cancelled, whatever its size or its
 *   encoding (a small gzip can inflate to gigabytes: `accept-encoding: identity` asks for none, and the bound holds
 *   if the server compresses anyway);
 * - redirects are never followed (`redirect: manual`): a 3xx is answered as it is, and each caller treats it as a
 *   failure naming where it pointed — following one would send the record and the destination's credentials to
 *   another address.
 */

/** The longest answer body read by default. */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024;

export interface OutboundAnswer {
  status: number;
  headers: Headers;
  /** The body's first `maxBytes` bytes, as UTF-8. */
  text: string;
  /** True when the body was longer and the rest was not read. */
  truncated: boolean;
  /** For a 3xx: where it pointed (not followed). */
  redirectedTo?: string;
}

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes?: number;
}

/** Sends one request; throws as fetch does for a failed connection or a timeout (the signal's TimeoutError). */
export async function send(url: string, r: OutboundRequest): Promise<OutboundAnswer> {
  const signal = AbortSignal.timeout(r.timeoutMs);
  const res = await fetch(url, {
    method: r.method ?? 'POST',
    headers: { 'accept-encoding': 'identity', ...(r.headers ?? {}) },
    body: r.body,
    redirect: 'manual',
    signal,
  });
  const { text, truncated } = await readBounded(res, r.maxBytes ?? DEFAULT_MAX_ANSWER_BYTES);
  const location = res.status >= 300 && res.status < 400 ? (res.headers.get('location') ?? '(no location)') : undefined;
  return { status: res.status, headers: res.headers, text, truncated, ...(location ? { redirectedTo: location } : {}) };
}

/** Reads at most `maxBytes` of a body and cancels the rest. */
export async function readBounded(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - total;
      if (value.byteLength > room) {
        if (room > 0) chunks.push(value.subarray(0, room));
        total = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

/** The sentence a caller records for an answer it will not follow. */
export function redirectRefusal(a: OutboundAnswer): string {
  return `answered ${a.status} redirecting to ${a.redirectedTo}; redirects are not followed (the record and credentials go only where the config says)`;
}
