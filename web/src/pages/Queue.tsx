import { useState } from 'react';
import { api, type NextCase, type Pipeline, query, type ReviewCase } from '../api';
import { SlaCountdown } from '../components/Sla';
import { Done, duration, ErrorBox, Loading, Page } from '../components/ui';
import { useAction, useKey, useLoad, useNow } from '../hooks';
import { Link, useRouter } from '../router';
import { useSession } from '../session';

const AGES: [string, number][] = [
  ['any age', 0],
  ['older than 1 hour', 3_600_000],
  ['older than 4 hours', 4 * 3_600_000],
  ['older than 1 day', 86_400_000],
];

export function QueuePage() {
  const { me } = useSession();
  const { navigate, location } = useRouter();
  const now = useNow(1000);
  const [scope, setScope] = useState(location.search.get('scope') ?? 'all');
  const [pipeline, setPipeline] = useState('');
  const [type, setType] = useState('');
  const [label, setLabel] = useState('');
  const [age, setAge] = useState(0);
  const pipelines = useLoad(() => api.get<{ pipelines: Pipeline[] }>('/v1/pipelines'), []);
  const cases = useLoad(
    () =>
      api.get<{ cases: ReviewCase[] }>(
        `/v1/review/cases${query({ pipeline, type, team: scope === 'team' ? 'mine' : undefined, mine: scope === 'mine' ? 1 : undefined, limit: 500 })}`,
      ),
    [pipeline, type, scope],
  );
  const next = useAction();

  const claimNext = async () => {
    const out = await next.run(() =>
      api.post<NextCase>('/v1/review/next', {
        pipeline: pipeline || undefined,
        type: type || undefined,
      }),
    );
    if (out === undefined) return;
    if (!out.case) next.setDone(out.message ?? 'No case is waiting for you.');
    else navigate(`/cases/${out.case.id}`);
  };

  const all = cases.data?.cases ?? [];
  const types = [...new Set(all.map((c) => c.type))].sort();
  const labels = [...new Set(all.map((c) => c.reason?.label).filter((l): l is string => typeof l === 'string'))].sort();
  const shown = all.filter((c) => (!label || c.reason?.label === label) && (!age || now - Date.parse(c.created_at) >= age));

  return (
    <Page
      title="Review queue"
      actions={
        me.may.claim_cases ? (
          <button type="button" onClick={claimNext} disabled={next.pending} aria-keyshortcuts="n">
            Next case <kbd>n</kbd>
          </button>
        ) : null
      }
    >
      <NextShortcut onNext={me.may.claim_cases ? claimNext : undefined} />
      <ErrorBox error={next.error} />
      <Done message={next.done} />
      <form className="filters" aria-label="Filter cases" onSubmit={(e) => e.preventDefault()}>
        <label>
          Show
          <select value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="all">all open cases</option>
            <option value="team">my teams' cases</option>
            <option value="mine">cases I hold</option>
          </select>
        </label>
        <label>
          Pipeline
          <select value={pipeline} onChange={(e) => setPipeline(e.target.value)}>
            <option value="">all</option>
            {(pipelines.data?.pipelines ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Case type
          <select value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">all</option>
            {[...new Set([...types, type].filter(Boolean))].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model label
          <select value={label} onChange={(e) => setLabel(e.target.value)}>
            <option value="">all</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Age
          <select value={age} onChange={(e) => setAge(Number(e.target.value))}>
            {AGES.map(([text, ms]) => (
              <option key={ms} value={ms}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary" onClick={() => void cases.reload()}>
          Refresh
        </button>
      </form>
      <ErrorBox error={cases.error} />
      {cases.loading && !cases.data ? <Loading what="cases" /> : null}
      {cases.data ? (
        shown.length === 0 ? (
          <p>No open case matches.</p>
        ) : (
          <div className="table-wrap">
            <table className="list" aria-label="Open cases, most urgent first">
              <thead>
                <tr>
                  <th scope="col">Case</th>
                  <th scope="col">Type</th>
                  <th scope="col">Priority</th>
                  <th scope="col">SLA</th>
                  <th scope="col">Pipeline</th>
                  <th scope="col">Record</th>
                  <th scope="col">Model label</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Held by</th>
                  <th scope="col">Age</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <Link to={`/cases/${c.id}`}>#{c.id}</Link>
                    </td>
                    <td>{c.type}</td>
                    <td>{c.priority}</td>
                    <td>
                      <SlaCountdown c={c} now={now} />
                    </td>
                    <td>{c.pipeline}</td>
                    <td>
                      <code>{c.record_id}</code>
                    </td>
                    <td>{c.reason?.label ?? '—'}</td>
                    <td>{c.owner ?? '—'}</td>
                    <td>{c.held_by ? `${c.held_by}${c.held_by === me.user.name ? ' (you)' : ''}` : '—'}</td>
                    <td>{duration(now - Date.parse(c.created_at))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      <p className="muted">
        Shortcut: <kbd>n</kbd> claims the next case you may take (with a 5-minute lease).
      </p>
    </Page>
  );
}

/** `n` claims the next case from anywhere on the page, except while typing in a field. */
export function NextShortcut({ onNext }: { onNext?: () => void }) {
  useKey((e) => {
    if (e.key === 'n' && onNext) {
      e.preventDefault();
      onNext();
    }
  });
  return null;
}
