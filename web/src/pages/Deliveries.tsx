import { type FormEvent, useMemo, useState } from 'react';
import type { Activity, DeadLetter, DeadLetterDetail, DeadLetterList, DestinationList } from '../../../src/server/schemas/delivery.js';
import { api } from '../api';
import { Chart } from '../components/Chart';
import { Done, ErrorBox, Loading, num, Page, time } from '../components/ui';
import { useAction, useLoad } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';

export function DeliveriesPage() {
  const { me } = useSession();
  const dests = useLoad(() => api.get<DestinationList>('/v1/destinations'), []);
  const activity = useLoad(() => api.get<Activity>('/v1/destinations/activity?minutes=30').catch(() => null), []);
  const letters = useLoad(() => api.get<DeadLetterList>('/v1/dead-letters?limit=200'), []);
  const act = useAction();
  const [discarding, setDiscarding] = useState<number | null>(null);
  const [reason, setReason] = useState('');
  const lead = me.may.replay_dead_letters;

  const replay = async (d: DeadLetter) => {
    const out = await act.run(
      () => api.post<DeadLetterDetail>(`/v1/dead-letters/${d.id}/replay`),
      () => `Replayed dead letter ${d.id} (record ${d.record_id} to ${d.destination}): it is back in the outbox.`,
    );
    if (out) {
      void letters.reload();
      void dests.reload();
    }
  };
  const discard = async (e: FormEvent) => {
    e.preventDefault();
    const id = discarding;
    if (id === null) return;
    const out = await act.run(
      () => api.post(`/v1/dead-letters/${id}/discard`, { reason }),
      () => `Discarded dead letter ${id}.`,
    );
    if (out) {
      setDiscarding(null);
      setReason('');
      void letters.reload();
    }
  };

  const chart = useMemo(() => {
    const a = activity.data;
    if (!a || a.destinations.length === 0) return null;
    const labels = a.destinations[0].buckets.map((b) => new Date(b.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    const series = a.destinations.flatMap((d) => {
      const name = `${d.pipeline}/${d.destination}`;
      const limit = dests.data?.destinations.find((x) => x.pipeline === d.pipeline && x.destination === d.destination)?.rate_limit;
      return [
        {
          name: `${name} delivered/min`,
          type: 'line',
          data: d.buckets.map((b) => b.delivered),
          ...(limit
            ? { markLine: { symbol: 'none', label: { formatter: `limit ${limit.text}` }, data: [{ yAxis: limit.per_second * 60 }] } }
            : {}),
        },
        { name: `${name} 429s/min`, type: 'bar', data: d.buckets.map((b) => b.throttled) },
      ];
    });
    return {
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 48, right: 16, top: 24, bottom: 56 },
      xAxis: { type: 'category', data: labels },
      yAxis: { type: 'value', name: 'per minute', minInterval: 1 },
      series,
    };
  }, [activity.data, dests.data]);

  return (
    <Page title="Deliveries">
      <ErrorBox error={dests.error} />
      {!dests.data ? (
        <Loading what="destinations" />
      ) : (
        <div className="table-wrap">
          <table className="list" aria-label="Destinations">
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col">Limit</th>
                <th scope="col">Pace now</th>
                <th scope="col">Found limit</th>
                <th scope="col">Breaker</th>
                <th scope="col">Pending</th>
                <th scope="col">Delivered</th>
                <th scope="col">Dead letters</th>
                <th scope="col">Last throttle signal</th>
              </tr>
            </thead>
            <tbody>
              {dests.data.destinations.map((d) => (
                <tr key={`${d.pipeline}/${d.destination}`}>
                  <th scope="row">
                    {d.pipeline}/{d.destination}
                    <div className="muted small">
                      {d.type} · {d.url}
                    </div>
                  </th>
                  <td>{d.rate_limit ? d.rate_limit.text : 'none'}</td>
                  <td>{d.pace_per_second === null ? '—' : `${num(d.pace_per_second, 2)}/s`}</td>
                  <td>{d.found_limit ? `${num(d.found_limit.per_second, 2)}/s (${d.found_limit.source})` : '—'}</td>
                  <td>
                    <span className={`breaker ${d.breaker.state}`}>{d.breaker.state}</span>
                    {d.breaker.state !== 'closed' && d.breaker.open_until ? ` until ${time(d.breaker.open_until)}` : ''}
                    <div className="muted small">{d.breaker.openings} openings</div>
                  </td>
                  <td>{d.deliveries.pending}</td>
                  <td>{d.deliveries.delivered}</td>
                  <td>{d.deliveries.dead_lettered}</td>
                  <td>
                    <code className="small">{d.last_signal ? JSON.stringify(d.last_signal) : '—'}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {chart ? (
        <Chart
          option={chart}
          label="Deliveries and 429 answers per minute, last 30 minutes"
          summary={(activity.data?.destinations ?? [])
            .map(
              (d) =>
                `${d.pipeline}/${d.destination}: ${d.buckets.reduce((s, b) => s + b.delivered, 0)} delivered, ${d.buckets.reduce((s, b) => s + b.throttled, 0)} answered 429`,
            )
            .join('; ')}
        />
      ) : null}

      <section aria-labelledby="dead-letters">
        <h2 id="dead-letters">Dead letters</h2>
        <ErrorBox error={letters.error} />
        <ErrorBox error={act.error} />
        <Done message={act.done} />
        {!letters.data ? (
          <Loading what="dead letters" />
        ) : letters.data.dead_letters.length === 0 ? (
          <p>No dead letter: every destination took what it was sent (or it is still trying).</p>
        ) : (
          <div className="table-wrap">
            <table className="list" aria-label="Dead letters">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Record</th>
                  <th scope="col">Destination</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">When</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {letters.data.dead_letters.map((d) => (
                  <tr key={d.id}>
                    <td>{d.id}</td>
                    <td>
                      <code>{d.record_id}</code> ({d.pipeline})
                      {d.case_id ? (
                        <>
                          {' '}
                          · <Link to={`/cases/${d.case_id}`}>case #{d.case_id}</Link>
                        </>
                      ) : null}
                    </td>
                    <td>{d.destination}</td>
                    <td>
                      {d.last_status ?? '—'} {d.last_error ? <span className="muted small">{d.last_error}</span> : null}
                    </td>
                    <td>{d.attempts}</td>
                    <td>{time(d.dead_lettered_at)}</td>
                    <td>
                      {lead ? (
                        <div className="buttons">
                          <button
                            type="button"
                            onClick={() => void replay(d)}
                            disabled={act.pending}
                            aria-label={`Replay dead letter ${d.id} (record ${d.record_id})`}
                          >
                            Replay
                          </button>
                          <button
                            type="button"
                            className="secondary"
                            onClick={() => setDiscarding(d.id)}
                            aria-label={`Discard dead letter ${d.id}`}
                          >
                            Discard…
                          </button>
                        </div>
                      ) : (
                        <span className="muted small">a lead replays</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {discarding !== null ? (
          <form className="decision" onSubmit={discard} aria-label={`Discard dead letter ${discarding}`}>
            <label htmlFor="dl-reason">Reason to discard dead letter {discarding}</label>
            <input id="dl-reason" required value={reason} onChange={(e) => setReason(e.target.value)} />
            <button type="submit" className="danger" disabled={act.pending}>
              Discard
            </button>
            <button type="button" className="secondary" onClick={() => setDiscarding(null)}>
              Cancel
            </button>
          </form>
        ) : null}
      </section>
    </Page>
  );
}
