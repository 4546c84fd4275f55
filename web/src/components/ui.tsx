import type { ReactNode } from 'react';
import type { ApiError } from '../api';

export function ErrorBox({ error }: { error: ApiError | string | null }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  return (
    <div className="error" role="alert">
      {message}
    </div>
  );
}

export function Done({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <output className="done" aria-live="polite">
      {message}
    </output>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

/** A page whose API route this server does not have yet: said plainly, not as an error. */
export function NotAvailable({ what }: { what: string }) {
  return (
    <section className="notice" aria-label="not available">
      <h2>Not available yet</h2>
      <p>
        This server does not offer {what} yet (its API answered 404 for the route). The page fills in when a server with that feature runs.
      </p>
    </section>
  );
}

export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </>
  );
}

/** A duration for people: 1 d 3 h, 2 h 5 m, 4 m 10 s, 12 s. */
export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} m`;
  if (m > 0) return `${m} m ${sec} s`;
  return `${sec} s`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function pct(x: number | null | undefined, digits = 1): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(digits)} %` : '—';
}

export function num(x: unknown, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? String(Math.round(x * 10 ** digits) / 10 ** digits) : '—';
}
