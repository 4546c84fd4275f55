import { type FormEvent, useEffect, useRef, useState } from 'react';
import {
  type Authority,
  api,
  type CaseDetail,
  type DecidedRecord,
  enc,
  type NextCase,
  type RecordView,
  type ReviewAction,
  type ReviewCase,
} from '../api';
import { RawJson, RecordFields } from '../components/RecordFields';
import { SlaCountdown } from '../components/Sla';
import { Done, duration, ErrorBox, Loading, num, Page, pct, time } from '../components/ui';
import { useAction, useKey, useLoad, useNow } from '../hooks';
import { Link, useRouter } from '../router';
import { useSession } from '../session';

/** The name of an action on this case (the server's catalog of case types: on a quarantine case approve is "Release"). */
function actionText(kase: Pick<CaseDetail, 'type_text'> | null | undefined, a: ReviewAction): string {
  return kase?.type_text?.actions[a] ?? a;
}

const KEYS: Partial<Record<ReviewAction, string>> = { approve: 'a', relabel: 'l', escalate: 'e', reject: 'r' };

export function CasePage({ id }: { id: string }) {
  const { me } = useSession();
  const { navigate } = useRouter();
  const now = useNow(1000);
  const c = useLoad(() => api.get<CaseDetail>(`/v1/review/cases/${enc(id)}`), [id]);
  const pipeline = c.data?.pipeline;
  const recordId = c.data?.record_id;
  const record = useLoad(
    () => (pipeline && recordId ? api.get<RecordView>(`/v1/pipelines/${enc(pipeline)}/records/${enc(recordId)}`) : Promise.resolve(null)),
    [pipeline, recordId],
  );
  const authority = useLoad(() => api.get<Authority>(`/v1/review/cases/${enc(id)}/authority`).catch(() => null), [id]);
  const similar = useLoad(
    () =>
      pipeline
        ? api.get<{ cases: ReviewCase[] }>(`/v1/review/cases?status=resolved&pipeline=${enc(pipeline)}&limit=300`)
        : Promise.resolve({ cases: [] as ReviewCase[] }),
    [pipeline],
  );
  const act = useAction();
  const [pending, setPending] = useState<ReviewAction | null>(null);
  const [label, setLabel] = useState('');
  const [reason, setReason] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);

  const kase = c.data;
  const allowed = kase?.allowed_actions ?? [];
  const mineHeld = kase?.held_by === me.user.name;

  // Keep the lease while the case is open on this page (the server's lease is 5 minutes).
  useEffect(() => {
    if (!mineHeld || kase?.status !== 'open') return;
    const t = setInterval(() => {
      api.post<ReviewCase>(`/v1/review/cases/${enc(id)}/heartbeat`).then(
        (v) => c.setData((old) => (old ? { ...old, ...v } : old)),
        () => {},
      );
    }, 120_000);
    return () => clearInterval(t);
  }, [mineHeld, kase?.status, id, c.setData]);

  // After a decision, follow the record until its deliveries settle.
  const status = record.data?.status;
  useEffect(() => {
    if (status !== 'decided' && status !== 'received' && status !== 'scoring') return;
    const t = setTimeout(() => void record.reload(), 700);
    return () => clearTimeout(t);
  }, [status, record.reload]);

  useEffect(() => {
    if (pending) inputRef.current?.focus();
  }, [pending]);

  const decide = async (action: ReviewAction, extra: { label?: string; reason?: string } = {}) => {
    const out = await act.run(
      () => api.post<DecidedRecord>(`/v1/review/cases/${enc(id)}/decision`, { action, ...extra }),
      (v) => `${actionText(kase, action)}: done. The case is ${v.case_outcome?.case_state ?? 'updated'}.`,
    );
    if (out !== undefined) {
      setPending(null);
      setReason('');
      void c.reload();
      void record.reload();
    }
  };

  const choose = (a: ReviewAction) => {
    if (!allowed.includes(a)) return;
    if (a === 'approve') void decide('approve');
    else {
      setPending(a);
      if (a === 'relabel') setLabel('');
    }
  };

  const next = async () => {
    const out = await act.run(() => api.post<NextCase>('/v1/review/next', { exclude: [Number(id)] }));
    if (!out) return;
    if (!out.case) act.setDone(out.message ?? 'No case is waiting for you.');
    else navigate(`/cases/${out.case.id}`);
  };

  useKey((e) => {
    if (e.key === 'Escape') return setPending(null);
    if (e.key === 'n' && me.may.claim_cases) {
      e.preventDefault();
      void next();
      return;
    }
    const a = (Object.entries(KEYS) as [ReviewAction, string][]).find(([, k]) => k === e.key)?.[0];
    if (a && allowed.includes(a)) {
      e.preventDefault();
      choose(a);
    }
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!pending) return;
    if (pending === 'relabel') void decide('relabel', { label, ...(reason ? { reason } : {}) });
    else void decide(pending, { reason });
  };

  if (c.error) return <Page title={`Case ${id}`}>{<ErrorBox error={c.error} />}</Page>;
  if (!kase) return <Loading what={`case ${id}`} />;

  const rec = record.data;
  const p = rec?.prediction ?? null;
  const reason0 = kase.reason ?? {};
  const labels = p?.probs ? Object.keys(p.probs) : [];
  const similarCases = (similar.data?.cases ?? [])
    .filter((x) => x.id !== kase.id && x.type === kase.type && (reason0.label === undefined || x.reason?.label === reason0.label))
    .slice(0, 5);
  const all: ReviewAction[] = ['approve', 'relabel', 'reject', 'request_info', 'escalate'];

  return (
    <Page
      title={`Case #${kase.id} · ${kase.type}`}
      actions={
        me.may.claim_cases ? (
          <button type="button" className="secondary" onClick={() => void next()} aria-keyshortcuts="n">
            Next case <kbd>n</kbd>
          </button>
        ) : null
      }
    >
      <div className="case-grid">
        <section aria-labelledby="case-summary">
          <h2 id="case-summary">Case</h2>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="case-status">
              {kase.status}
              {kase.state && kase.state !== kase.status ? ` (${kase.state})` : ''}
            </dd>
            <dt>Pipeline · record</dt>
            <dd>
              {kase.pipeline} · <code>{kase.record_id}</code>
            </dd>
            <dt>Owner · priority</dt>
            <dd>
              {kase.owner ?? '—'} · {kase.priority}
            </dd>
            <dt>SLA</dt>
            <dd>{kase.status === 'open' ? <SlaCountdown c={kase} now={now} /> : `resolved ${time(kase.resolved_at)}`}</dd>
            <dt>Lease</dt>
            <dd data-testid="lease">
              {kase.held_by
                ? `held by ${kase.held_by === me.user.name ? 'you' : kase.held_by} until ${time(kase.lease_until)} (${duration(Date.parse(kase.lease_until ?? '') - now)} left)`
                : 'not held'}
            </dd>
            {kase.resolution ? (
              <>
                <dt>Resolution</dt>
                <dd>
                  {kase.resolution.label ?? '—'} by {kase.resolution.by ?? '—'}
                  {kase.resolution.note ? ` — ${kase.resolution.note}` : ''}
                </dd>
              </>
            ) : null}
          </dl>
        </section>
        <section aria-labelledby="case-model">
          <h2 id="case-model">Model and routing</h2>
          <dl className="facts">
            <dt>Model label</dt>
            <dd data-testid="model-label">{p?.label ?? reason0.label ?? '—'}</dd>
            <dt>Confidence (raw)</dt>
            <dd>{num(p?.confidence ?? reason0.raw_confidence)}</dd>
            <dt>Confidence (calibrated)</dt>
            <dd>{num(p?.calibrated_confidence ?? reason0.confidence)}</dd>
            <dt>Why it is here</dt>
            <dd>{whyRouted(kase)}</dd>
            <dt>Contract version</dt>
            <dd>{rec?.contract_version ?? '—'}</dd>
            <dt>Record status</dt>
            <dd data-testid="record-status">{rec?.status ?? '—'}</dd>
            {rec && rec.deliveries.length > 0 ? (
              <>
                <dt>Deliveries</dt>
                <dd data-testid="deliveries">{rec.deliveries.map((d) => `${d.destination}: ${d.status}`).join(', ')}</dd>
              </>
            ) : null}
          </dl>
        </section>
      </div>

      <section aria-labelledby="case-actions" className="actions-panel">
        <h2 id="case-actions">Actions</h2>
        {kase.status !== 'open' ? (
          <p>This case is {kase.status}: nothing left to do.</p>
        ) : allowed.length === 0 ? (
          <p data-testid="no-actions">
            Your role ({me.user.role}) may not act on this case
            {kase.state === 'needs_adjudication' ? ': its reviewers disagreed and a lead adjudicates' : ''}.
          </p>
        ) : (
          <fieldset className="buttons">
            <legend className="sr-only">Decide this case</legend>
            {allowed.map((a) => (
              <button
                key={a}
                type="button"
                className={a === 'approve' ? undefined : 'secondary'}
                onClick={() => choose(a)}
                disabled={act.pending}
                aria-keyshortcuts={KEYS[a]}
              >
                {actionText(kase, a)} {KEYS[a] ? <kbd>{KEYS[a]}</kbd> : null}
              </button>
            ))}
          </fieldset>
        )}
        {pending ? (
          <form className="decision" onSubmit={submit} aria-label={`${actionText(kase, pending)} this case`}>
            {pending === 'relabel' ? (
              <>
                <label htmlFor="decision-label">New label</label>
                <input
                  id="decision-label"
                  ref={inputRef}
                  list="decision-labels"
                  required={kase.action_needs[pending]?.includes('label') ?? false}
                  value={label}
                  onChange={(e) => setLabel(e.target.value)}
                />
                <datalist id="decision-labels">
                  {labels.map((l) => (
                    <option key={l} value={l} />
                  ))}
                </datalist>
              </>
            ) : null}
            <label htmlFor="decision-reason">{pending === 'relabel' ? 'Note (optional)' : 'Reason'}</label>
            <input
              id="decision-reason"
              ref={pending === 'relabel' ? undefined : inputRef}
              required={kase.action_needs[pending]?.includes('reason') ?? false}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
            />
            <button type="submit" disabled={act.pending}>
              {actionText(kase, pending)}
            </button>
            <button type="button" className="secondary" onClick={() => setPending(null)}>
              Cancel <kbd>Esc</kbd>
            </button>
          </form>
        ) : null}
        <ErrorBox error={act.error} />
        <Done message={act.done} />
        {authority.data ? (
          <details className="authority">
            <summary>
              Your authority on {kase.type} cases ({authority.data.role})
            </summary>
            <table aria-label="Your authority">
              <tbody>
                {all.map((a) => (
                  <tr key={a}>
                    <th scope="row">{a}</th>
                    <td>{authority.data?.actions[a]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        ) : null}
        <p className="shortcuts">
          Keys: <kbd>n</kbd> next case · <kbd>a</kbd> approve · <kbd>l</kbd> change label · <kbd>e</kbd> escalate · <kbd>r</kbd> reject ·{' '}
          <kbd>Esc</kbd> cancel
        </p>
      </section>

      <section aria-labelledby="case-record">
        <h2 id="case-record">Record</h2>
        <ErrorBox error={record.error} />
        {rec ? (
          <>
            <RecordFields record={rec.record} violations={rec.violations ?? []} />
            <details>
              <summary>Raw payload{rec.original_record ? ' (as received, before an edit)' : ''}</summary>
              <RawJson value={rec.original_record ?? rec.record} label="Raw payload" />
            </details>
          </>
        ) : (
          <Loading what="the record" />
        )}
      </section>

      <section aria-labelledby="case-similar">
        <h2 id="case-similar">Similar past decisions</h2>
        {similarCases.length === 0 ? (
          <p className="muted">
            No resolved {kase.type} case with the model label {reason0.label ?? '—'} yet.
          </p>
        ) : (
          <table className="list" aria-label="Similar past decisions">
            <thead>
              <tr>
                <th scope="col">Case</th>
                <th scope="col">Model label</th>
                <th scope="col">Decided label</th>
                <th scope="col">By</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {similarCases.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/cases/${s.id}`}>#{s.id}</Link>
                  </td>
                  <td>{s.reason?.label ?? '—'}</td>
                  <td>{s.resolution?.label ?? '—'}</td>
                  <td>{s.resolution?.by ?? '—'}</td>
                  <td>{time(s.resolved_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {kase.actions && kase.actions.length > 0 ? (
        <section aria-labelledby="case-trail">
          <h2 id="case-trail">Actions on this case</h2>
          <ul>
            {kase.actions.map((a) => (
              <li key={`${a.at}${a.by}${a.action}`}>
                {time(a.at)} — {a.by} ({a.role}) {a.action}
                {a.label ? ` → ${a.label}` : ''}
                {a.reason ? `: ${a.reason}` : ''}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {rec ? (
        <details>
          <summary>Audit trail of the record ({rec.events.length} events)</summary>
          <ol className="trail">
            {rec.events.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the trail is append-only, so a position names one event
              <li key={`${e.at}${i}`}>
                {time(e.at)} <strong>{e.kind}</strong> <code>{JSON.stringify(e.detail)}</code>
              </li>
            ))}
          </ol>
        </details>
      ) : null}
    </Page>
  );
}

function whyRouted(c: CaseDetail): string {
  const r = c.reason ?? {};
  if (c.type === 'low_confidence')
    return `calibrated confidence ${pct(r.confidence as number)} is below the auto-accept threshold ${pct(r.threshold as number)}`;
  if (c.type === 'policy_review')
    return r.reason === 'never_auto'
      ? `the label ${r.label} always goes to a person (never_auto)`
      : `a routing rule sent it (${JSON.stringify(r.rule ?? r.reason)})`;
  return c.type_text?.explanation ?? JSON.stringify(r);
}
