import { api, enc } from '../api';
import { ErrorBox, Loading, NotAvailable, Page, time } from '../components/ui';
import { useLoad } from '../hooks';
import { PipelinePicker, useFirstPipeline } from './PipelinePicker';

interface Check {
  id: string;
  title: string;
  status: string;
  points: number;
  blocking: boolean;
  evidence: string;
  fix: string | null;
  artefact: { kind: string; id: number; created_at: string } | null;
}

interface Report {
  pipeline: string;
  generated_at: string;
  score: number;
  min_score: number | null;
  blocking_failed: string[];
  passed: boolean;
  sections: { name: string; title: string; score: number; checks: Check[] }[];
}

export function ReadinessPage({ pipeline }: { pipeline?: string }) {
  const p = useFirstPipeline(pipeline);
  return (
    <Page title={`Readiness${p ? ` · ${p}` : ''}`}>
      <PipelinePicker page="readiness" current={p} />
      {p ? <ReadinessOf pipeline={p} /> : null}
    </Page>
  );
}

function ReadinessOf({ pipeline }: { pipeline: string }) {
  const r = useLoad(() => api.get<Report & { report?: Report }>(`/v1/pipelines/${enc(pipeline)}/readiness`), [pipeline]);
  if (r.error?.routeMissing) return <NotAvailable what="the readiness report" />;
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <Loading what="readiness" />;
  const rep = r.data.report ?? r.data;
  if (!Array.isArray(rep.sections)) return <p>The readiness report has no sections yet.</p>;
  return (
    <>
      <p>
        {/* Score: the minimum over the sections of their summed points (Breck et al. 2017, the ML Test Score). */}
        Score <strong data-testid="readiness-score">{rep.score}</strong>
        {rep.min_score !== null ? ` (the gate needs ${rep.min_score})` : ''} —{' '}
        {rep.passed ? <strong className="good">the gate passes</strong> : <strong className="bad">the gate fails</strong>}
        {rep.blocking_failed.length > 0 ? `; blocking: ${rep.blocking_failed.join(', ')}` : ''}. Made {time(rep.generated_at)}.
      </p>
      {rep.sections.map((s) => (
        <section key={s.name} aria-labelledby={`sec-${s.name}`}>
          <h2 id={`sec-${s.name}`}>
            {s.title} — {s.score}
          </h2>
          <table className="list" aria-label={s.title}>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Status</th>
                <th scope="col">Points</th>
                <th scope="col">Evidence</th>
                <th scope="col">Fix</th>
              </tr>
            </thead>
            <tbody>
              {s.checks.map((c) => (
                <tr key={c.id} className={c.status === 'pass' ? undefined : 'violation'}>
                  <th scope="row">
                    {c.title}
                    {c.blocking ? ' (blocking)' : ''}
                  </th>
                  <td>{c.status}</td>
                  <td>{c.points}</td>
                  <td>
                    {c.evidence}
                    {c.artefact ? ` (${c.artefact.kind} #${c.artefact.id}, ${time(c.artefact.created_at)})` : ''}
                  </td>
                  <td>{c.fix ? <code>{c.fix}</code> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}
