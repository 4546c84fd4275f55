import { type FormEvent, useState } from 'react';
import type { ViolationKind } from '../../../src/server/schemas/common.js';
import type { ContractVersion } from '../../../src/server/schemas/contracts.js';
import type { QuarantineDetail, QuarantineList, ReleaseResult } from '../../../src/server/schemas/quarantine.js';
import { api, enc, type Pipeline, query, type Violation } from '../api';
import { RawJson, RecordFields } from '../components/RecordFields';
import { Done, ErrorBox, Loading, Page, time } from '../components/ui';
import { useAction, useLoad } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';

/** The violation kinds, in the order the filter offers them; the compiler checks the list against the API's. */
const KINDS = [
  'unknown_field',
  'missing_required',
  'type_mismatch',
  'new_enum_value',
  'format_mismatch',
  'out_of_range',
  'unparseable',
  'other',
] as const satisfies readonly ViolationKind[];
export const KINDS_COMPLETE: [Exclude<ViolationKind, (typeof KINDS)[number]>] extends [never] ? true : never = true;

export function QuarantinePage() {
  const [pipeline, setPipeline] = useState('');
  const [kind, setKind] = useState('');
  const pipelines = useLoad(() => api.get<{ pipelines: Pipeline[] }>('/v1/pipelines'), []);
  const list = useLoad(() => api.get<QuarantineList>(`/v1/quarantine${query({ pipeline, kind, limit: 500 })}`), [pipeline, kind]);
  return (
    <Page title="Quarantine inbox">
      <form className="filters" aria-label="Filter quarantined records" onSubmit={(e) => e.preventDefault()}>
        <label>
          Pipeline
          <select value={pipeline} onChange={(e) => setPipeline(e.target.value)}>
            <option value="">all</option>
            {(pipelines.data?.pipelines ?? []).map((p) => (
              <option key={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Violation kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">all</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={list.error} />
      {!list.data ? (
        <Loading what="quarantined records" />
      ) : list.data.records.length === 0 ? (
        <p>No record is quarantined{pipeline || kind ? ' with these filters' : ''}.</p>
      ) : (
        <div className="table-wrap">
          <p className="muted">
            {list.data.total} quarantined record{list.data.total === 1 ? '' : 's'}, oldest first.
          </p>
          <table className="list" aria-label="Quarantined records">
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Pipeline</th>
                <th scope="col">Violations</th>
                <th scope="col">Contract</th>
                <th scope="col">Received</th>
              </tr>
            </thead>
            <tbody>
              {list.data.records.map((r) => (
                <tr key={`${r.pipeline}/${r.id}`}>
                  <td>
                    <Link to={`/quarantine/${enc(r.pipeline)}/${enc(r.id)}`}>{r.id}</Link>
                    {r.edited ? ' (edited)' : ''}
                  </td>
                  <td>{r.pipeline}</td>
                  <td>{r.violations.map((v) => `${v.kind} at ${v.field || v.path || '(record)'}`).join('; ')}</td>
                  <td>v{r.contract_version ?? '—'}</td>
                  <td>{time(r.received_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

/** The part of a JSON Schema that governs a JSON Pointer (through `properties` and `items`). */
function schemaAt(
  schema: Record<string, unknown> | undefined,
  pointer: string,
): { schema: unknown; parent: Record<string, unknown> | undefined } {
  let node: Record<string, unknown> | undefined = schema;
  let parent: Record<string, unknown> | undefined;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    parent = node;
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    if (props && key in props) node = props[key];
    else if (node?.items && /^\d+$/.test(key)) node = node.items as Record<string, unknown>;
    else return { schema: undefined, parent };
  }
  return { schema: node, parent };
}

function contractSays(schema: Record<string, unknown> | undefined, v: Violation): string {
  if (!schema) return '—';
  const at = schemaAt(schema, v.path);
  if (v.kind === 'unknown_field') {
    const allowed = Object.keys((at.parent?.properties as object | undefined) ?? {});
    return `not in the contract; the object allows ${allowed.length ? allowed.join(', ') : 'no fields'}`;
  }
  if (v.kind === 'missing_required') return 'required';
  if (at.schema === undefined) return '—';
  const { description: _d, ...rest } = at.schema as Record<string, unknown>;
  return JSON.stringify(rest);
}

export function QuarantineDetailPage({ pipeline, id }: { pipeline: string; id: string }) {
  const { me } = useSession();
  const rec = useLoad(() => api.get<QuarantineDetail>(`/v1/pipelines/${enc(pipeline)}/quarantine/${enc(id)}`), [pipeline, id]);
  const contract = useLoad(() => api.get<{ versions: ContractVersion[] }>(`/v1/pipelines/${enc(pipeline)}/contract`), [pipeline]);
  const act = useAction();
  const [edit, setEdit] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [stillBroken, setStillBroken] = useState<Violation[] | null>(null);

  const d = rec.data;
  const active =
    contract.data?.versions.find((v) => d && v.version === d.contract_version) ??
    contract.data?.versions.find((v) => v.status === 'active');
  const canAct = me.may.decide_quarantine && d?.status === 'quarantined';

  const release = async (edited?: unknown) => {
    setStillBroken(null);
    const out = await act.run(
      async () => {
        try {
          return await api.post<ReleaseResult>(
            `/v1/pipelines/${enc(pipeline)}/quarantine/${enc(id)}/release`,
            edited === undefined ? {} : { record: edited },
          );
        } catch (err) {
          const body = (err as { body?: { released?: boolean; violations?: Violation[] } }).body;
          if (body && body.released === false) {
            setStillBroken(body.violations ?? []);
            throw new Error('It still breaks the contract: it stays quarantined, unchanged.');
          }
          throw err;
        }
      },
      (v) => `Released: the record is ${v.status} again.`,
    );
    if (out) {
      setEdit(null);
      void rec.reload();
    }
  };

  const submitEdit = (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(edit ?? '');
    } catch (err) {
      act.setError(`The edited record is not JSON: ${(err as Error).message}`);
      return;
    }
    void release(parsed);
  };

  const discard = async (e: FormEvent) => {
    e.preventDefault();
    const out = await act.run(
      () => api.post(`/v1/pipelines/${enc(pipeline)}/quarantine/${enc(id)}/discard`, { reason }),
      () => 'Discarded (the record and its trail are kept).',
    );
    if (out) void rec.reload();
  };

  return (
    <Page title={`Quarantined record ${id}`}>
      <p>
        <Link to="/quarantine">← Quarantine inbox</Link>
      </p>
      <ErrorBox error={rec.error} />
      {!d ? (
        <Loading what="the record" />
      ) : (
        <>
          <dl className="facts">
            <dt>Pipeline</dt>
            <dd>{d.pipeline}</dd>
            <dt>Status</dt>
            <dd data-testid="quarantine-status">{d.status}</dd>
            <dt>Checked against</dt>
            <dd>contract version {d.contract_version ?? '—'}</dd>
            <dt>Received</dt>
            <dd>{time(d.received_at)}</dd>
            {d.case_id ? (
              <>
                <dt>Review case</dt>
                <dd>
                  <Link to={`/cases/${d.case_id}`}>#{d.case_id}</Link>
                </dd>
              </>
            ) : null}
          </dl>
          <section aria-labelledby="q-violations">
            <h2 id="q-violations">Violations against the contract</h2>
            <table className="list" aria-label="Violations">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Kind</th>
                  <th scope="col">What is wrong</th>
                  <th scope="col">The contract says</th>
                </tr>
              </thead>
              <tbody>
                {d.violations.map((v) => (
                  <tr key={`${v.path}${v.kind}${v.message}`} className="violation">
                    <td>
                      <code>{v.field || v.path || '(record)'}</code>
                    </td>
                    <td>{v.kind}</td>
                    <td>{v.message}</td>
                    <td>
                      <code>{contractSays(active?.schema, v)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section aria-labelledby="q-record">
            <h2 id="q-record">Record</h2>
            <RecordFields record={d.body} violations={d.violations} />
            {d.original_body ? (
              <details>
                <summary>As received (before the edit)</summary>
                <RawJson value={d.original_body} label="Record as received" />
              </details>
            ) : null}
          </section>
          {canAct ? (
            <section aria-labelledby="q-actions" className="actions-panel">
              <h2 id="q-actions">Actions</h2>
              <div className="buttons">
                <button type="button" onClick={() => void release()} disabled={act.pending}>
                  Release
                </button>
                <button type="button" className="secondary" onClick={() => setEdit(JSON.stringify(d.body, null, 2))} disabled={act.pending}>
                  Edit and release…
                </button>
              </div>
              {edit !== null ? (
                <form onSubmit={submitEdit} aria-label="Edit and release" className="stack">
                  <label htmlFor="q-edit">Corrected record (JSON); the body as received is kept</label>
                  <textarea id="q-edit" rows={12} value={edit} onChange={(e) => setEdit(e.target.value)} spellCheck={false} />
                  <button type="submit" disabled={act.pending}>
                    Release the edited record
                  </button>
                  <button type="button" className="secondary" onClick={() => setEdit(null)}>
                    Cancel
                  </button>
                </form>
              ) : null}
              <form onSubmit={discard} aria-label="Discard" className="inline">
                <label htmlFor="q-reason">Reason to discard</label>
                <input id="q-reason" required value={reason} onChange={(e) => setReason(e.target.value)} />
                <button type="submit" className="danger" disabled={act.pending}>
                  Discard
                </button>
              </form>
              <ErrorBox error={act.error} />
              {stillBroken ? (
                <ul aria-label="Still broken">
                  {stillBroken.map((v) => (
                    <li key={`${v.path}${v.kind}`}>
                      {v.kind} at {v.field || v.path}: {v.message}
                    </li>
                  ))}
                </ul>
              ) : null}
              <Done message={act.done} />
            </section>
          ) : (
            <>
              <Done message={act.done} />
              {d.status !== 'quarantined' ? <p>This record is no longer quarantined ({d.status}).</p> : null}
            </>
          )}
          <details>
            <summary>Trail ({d.events.length} events)</summary>
            <ol className="trail">
              {d.events.map((e, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the trail is append-only, so a position names one event
                <li key={`${e.at}${i}`}>
                  {time(e.at)} <strong>{e.kind}</strong> <code>{JSON.stringify(e.detail)}</code>
                </li>
              ))}
            </ol>
          </details>
        </>
      )}
    </Page>
  );
}
