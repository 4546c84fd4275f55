import { type FormEvent, useState } from 'react';
import type { HaltStatus } from '../../../src/server/schemas/contracts.js';
import { api, enc, type Pipeline, type RecordView } from '../api';
import { RawJson, RecordFields } from '../components/RecordFields';
import { Done, ErrorBox, Loading, Page, time } from '../components/ui';
import { useAction, useLoad } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';

export function HaltsPage() {
  const pipelines = useLoad(() => api.get<{ pipelines: Pipeline[] }>('/v1/pipelines'), []);
  return (
    <Page title="Schema changes">
      <ErrorBox error={pipelines.error} />
      {!pipelines.data ? (
        <Loading what="pipelines" />
      ) : (
        <table className="list" aria-label="Pipelines">
          <thead>
            <tr>
              <th scope="col">Pipeline</th>
              <th scope="col">State</th>
              <th scope="col">Waiting (halted)</th>
              <th scope="col">Quarantined</th>
            </tr>
          </thead>
          <tbody>
            {pipelines.data.pipelines.map((p) => (
              <tr key={p.name}>
                <td>
                  <Link to={`/halts/${enc(p.name)}`}>{p.name}</Link>
                </td>
                <td>{p.halted ? <strong className="bad">halted on a schema change</strong> : 'running'}</td>
                <td>{p.records.halted ?? 0}</td>
                <td>{p.records.quarantined ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

export function HaltPage({ pipeline }: { pipeline: string }) {
  const { me } = useSession();
  const status = useLoad(() => api.get<HaltStatus>(`/v1/pipelines/${enc(pipeline)}/halt`), [pipeline]);
  const examples = useLoad(async () => {
    const ids = (status.data?.halt?.detail.example_ids ?? []).slice(0, 3);
    return Promise.all(ids.map((id) => api.get<RecordView>(`/v1/pipelines/${enc(pipeline)}/records/${enc(id)}`).catch(() => null)));
  }, [status.data?.halt?.id]);
  const act = useAction();
  const [note, setNote] = useState('');

  const decide = async (e: FormEvent, what: 'accept' | 'reject') => {
    e.preventDefault();
    const out = await act.run(
      () => api.post<Record<string, unknown>>(`/v1/pipelines/${enc(pipeline)}/halt/${what}`, note ? { note } : {}),
      () =>
        what === 'accept'
          ? 'Accepted: a new contract version is in force and the backlog resumes in arrival order.'
          : 'Rejected: the records that showed the change are quarantined; the rest of the backlog resumes.',
    );
    if (out) void status.reload();
  };

  const s = status.data;
  return (
    <Page title={`Schema change · ${pipeline}`}>
      <p>
        <Link to="/halts">← All pipelines</Link>
      </p>
      <ErrorBox error={status.error} />
      {!s ? (
        <Loading what="the halt" />
      ) : (
        <>
          {s.halt ? (
            <section aria-labelledby="halt-change">
              <h2 id="halt-change">
                Halted: <code>{s.halt.change.kind}</code> at <code>{s.halt.change.field}</code>
              </h2>
              <dl className="facts">
                <dt>Since</dt>
                <dd>{time(s.halt.opened_at)}</dd>
                <dt>Contract in force</dt>
                <dd>version {s.contract?.version ?? '—'}</dd>
                <dt>Backlog (waiting)</dt>
                <dd data-testid="backlog">{s.backlog}</dd>
                <dt>Quarantined earlier with this change</dt>
                <dd>{s.quarantined_with_change}</dd>
              </dl>
              <h3>Contract diff if accepted</h3>
              {s.proposed && s.proposed.changes.length > 0 ? (
                <ul aria-label="Contract changes">
                  {s.proposed.changes.map((c) => (
                    <li key={c}>
                      <code>{c}</code>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted">No change to the contract was derived.</p>
              )}
              {s.proposed && s.proposed.still_rejected > 0 ? (
                <p className="bad">{s.proposed.still_rejected} of the records would still be rejected by the accepted contract.</p>
              ) : null}
              {s.proposed ? (
                <details>
                  <summary>The proposed contract (JSON Schema)</summary>
                  <RawJson value={s.proposed.schema} label="Proposed contract" />
                </details>
              ) : null}
              <h3>Examples</h3>
              {(examples.data ?? []).filter(Boolean).length === 0 ? (
                <p className="muted">No example records.</p>
              ) : (
                (examples.data ?? []).map((r) =>
                  r ? (
                    <div key={r.id} className="example">
                      <h4>
                        Record <code>{r.id}</code> ({r.status})
                      </h4>
                      <RecordFields record={r.record} violations={r.violations ?? []} label={`Example record ${r.id}`} />
                    </div>
                  ) : null,
                )
              )}
              {me.may.decide_halts ? (
                <form className="decision" aria-label="Decide the schema change" onSubmit={(e) => decide(e, 'accept')}>
                  <label htmlFor="halt-note">Note (why)</label>
                  <input id="halt-note" value={note} onChange={(e) => setNote(e.target.value)} />
                  <button type="submit" disabled={act.pending}>
                    Accept the change
                  </button>
                  <button type="button" className="danger" disabled={act.pending} onClick={(e) => void decide(e, 'reject')}>
                    Reject the change
                  </button>
                </form>
              ) : (
                <p>Only a lead or an admin may accept or reject a schema change.</p>
              )}
            </section>
          ) : (
            <p data-testid="not-halted">
              Pipeline {pipeline} is not halted. Contract version {s.contract?.version ?? '—'} is in force.
            </p>
          )}
          <ErrorBox error={act.error} />
          <Done message={act.done} />
          {s.history.length > 0 ? (
            <section aria-labelledby="halt-history">
              <h2 id="halt-history">History</h2>
              <table className="list" aria-label="Halt history">
                <thead>
                  <tr>
                    <th scope="col">Opened</th>
                    <th scope="col">Change</th>
                    <th scope="col">Status</th>
                    <th scope="col">By</th>
                  </tr>
                </thead>
                <tbody>
                  {s.history.map((h) => (
                    <tr key={h.id}>
                      <td>{time(h.opened_at)}</td>
                      <td>
                        {h.change.kind} at <code>{h.change.field}</code>
                      </td>
                      <td>{h.status}</td>
                      <td>{h.resolved_by ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ) : null}
        </>
      )}
    </Page>
  );
}
