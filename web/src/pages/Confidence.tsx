import { useMemo } from 'react';
import type { ReliabilityBin as Bin, ThresholdEvidence, Thresholds } from '../../../src/server/schemas/routing.js';
import { api, enc, type Pipeline } from '../api';
import { Chart } from '../components/Chart';
import { Done, ErrorBox, Loading, num, Page, pct, time } from '../components/ui';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import { PipelinePicker, useFirstPipeline } from './PipelinePicker';

type Evidence = ThresholdEvidence['evidence'];

export function ConfidencePage({ pipeline }: { pipeline?: string }) {
  const p = useFirstPipeline(pipeline);
  return (
    <Page title={`Confidence${p ? ` · ${p}` : ''}`}>
      <PipelinePicker page="confidence" current={p} />
      {p ? <ConfidenceOf pipeline={p} /> : null}
    </Page>
  );
}

function ConfidenceOf({ pipeline }: { pipeline: string }) {
  const { me } = useSession();
  const t = useLoad(() => api.get<Thresholds>(`/v1/pipelines/${enc(pipeline)}/thresholds`), [pipeline]);
  const versions = t.data?.versions ?? [];
  const shown =
    versions.find((v) => v.status === 'proposed') ?? versions.find((v) => v.status === 'active') ?? versions[versions.length - 1];
  const evidence = useLoad(
    () =>
      shown?.evidence_id
        ? api.get<{ evidence: Evidence }>(`/v1/pipelines/${enc(pipeline)}/thresholds/${shown.version}/evidence`).then(
            (r) => r.evidence,
            () => null,
          )
        : Promise.resolve(null),
    [pipeline, shown?.version],
  );
  const act = useAction();
  const approve = async (v: number) => {
    const out = await act.run(
      () => api.post(`/v1/pipelines/${enc(pipeline)}/thresholds/${v}/approve`),
      () => `Version ${v} is now active.`,
    );
    if (out) void t.reload();
  };

  const fallback = useLoad(
    () =>
      api.get<{ pipelines: Pipeline[] }>('/v1/pipelines').then((r) => r.pipelines.find((p) => p.name === pipeline)?.auto_accept_at ?? null),
    [pipeline],
  );
  const history = useMemo(() => {
    if (versions.length === 0) return null;
    // The config's auto_accept_at comes first: it routed (on raw confidence) before the first calibration.
    const points = [
      ...(typeof fallback.data === 'number' ? [{ label: 'config', value: fallback.data }] : []),
      ...versions.map((v) => ({ label: `v${v.version} (${v.status})`, value: v.threshold.value ?? null })),
    ];
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 48, right: 16, top: 24, bottom: 32 },
      xAxis: { type: 'category', data: points.map((p) => p.label) },
      yAxis: { type: 'value', min: 0, max: 1, name: 'threshold' },
      series: [{ name: 'auto-accept threshold', type: 'line', step: 'end', data: points.map((p) => p.value) }],
    };
  }, [versions, fallback.data]);

  const reliability = useMemo(() => {
    const r = evidence.data?.report;
    if (!r?.reliability) return null;
    const pts = (bins: Bin[] | undefined) =>
      (bins ?? [])
        .filter((b) => b.count > 0 && b.meanConfidence !== null && b.accuracy !== null)
        .map((b) => [b.meanConfidence, b.accuracy, b.count]);
    return {
      tooltip: { trigger: 'item' },
      legend: { bottom: 0 },
      grid: { left: 48, right: 16, top: 24, bottom: 56 },
      xAxis: { type: 'value', min: 0, max: 1, name: 'mean confidence' },
      yAxis: { type: 'value', min: 0, max: 1, name: 'accuracy' },
      series: [
        {
          name: 'perfect calibration',
          type: 'line',
          data: [
            [0, 0],
            [1, 1],
          ],
          symbol: 'none',
          lineStyle: { type: 'dashed' },
        },
        { name: 'raw', type: 'line', data: pts(r.reliability) },
        ...(r.calibrated?.reliability
          ? [{ name: `calibrated (${r.calibrated.method ?? ''})`, type: 'line', data: pts(r.calibrated.reliability) }]
          : []),
      ],
    };
  }, [evidence.data]);

  const proposed = versions.filter((v) => v.status === 'proposed');
  return (
    <>
      <ErrorBox error={t.error} />
      {!t.data ? (
        <Loading what="routing versions" />
      ) : (
        <>
          <p>
            In effect: threshold <strong>{num(t.data.effective.threshold)}</strong>{' '}
            {t.data.effective.source === 'version'
              ? `from routing version ${t.data.effective.version}`
              : 'from the config (no calibration yet)'}
            .
          </p>
          {proposed.map((v) => (
            <section key={v.version} className="notice" aria-label={`Routing version ${v.version} waits for approval`}>
              <h2>Version {v.version} waits for approval</h2>
              <p>
                Threshold {num(v.threshold.value)} on {v.calibrator ? `${v.calibrator.method}-calibrated` : 'raw'} confidence: coverage{' '}
                {pct(v.threshold.coverage)}, error {pct(v.threshold.error, 2)} (upper bound {pct(v.threshold.error_upper_bound, 2)} at α ={' '}
                {num(v.threshold.alpha)}, δ = {num(v.threshold.delta)}, {v.threshold.method ?? '—'}). Proposed {time(v.created_at)}
                {v.created_by ? ` by ${v.created_by}` : ''}; evidence #{v.evidence_id ?? '—'}.
              </p>
              {me.may.approve_thresholds ? (
                <button type="button" onClick={() => void approve(v.version)} disabled={act.pending}>
                  Approve version {v.version}
                </button>
              ) : (
                <p className="muted">A lead or an admin approves it.</p>
              )}
            </section>
          ))}
          <ErrorBox error={act.error} />
          <Done message={act.done} />
          {reliability ? (
            <Chart
              option={reliability}
              label={`Reliability diagram (evidence #${evidence.data?.id}, version ${shown?.version})`}
              summary={`ECE raw ${num(evidence.data?.report.ece)}, calibrated ${num(evidence.data?.report.calibrated?.ece)}`}
            />
          ) : (
            <p className="muted">
              No calibration evidence yet: run <code>airlock calibrate PREDICTIONS --pipeline {pipeline}</code>.
            </p>
          )}
          {evidence.data ? (
            <p className="muted">
              {/* ECE: top-label expected calibration error, 15 equal-width bins (Guo et al. 2017, eq. 3), as `airlock calibrate` reports it. */}
              ECE (15 equal-width bins, Guo et al. 2017): raw {num(evidence.data.report.ece)}, calibrated{' '}
              {num(evidence.data.report.calibrated?.ece)}, on {evidence.data.report.rows ?? '—'} labelled rows.
            </p>
          ) : null}
          {history ? (
            <Chart
              option={history}
              label="Threshold history"
              summary={versions.map((v) => `v${v.version} ${num(v.threshold.value)} ${v.status}`).join(', ')}
            />
          ) : null}
          {versions.length > 0 ? (
            <table className="list" aria-label="Routing versions">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Status</th>
                  <th scope="col">Threshold</th>
                  <th scope="col">Calibrator</th>
                  <th scope="col">Created</th>
                  <th scope="col">Activated</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version}>
                    <td>{v.version}</td>
                    <td>{v.status}</td>
                    <td>{num(v.threshold.value)}</td>
                    <td>{v.calibrator?.method ?? 'none'}</td>
                    <td>
                      {time(v.created_at)} {v.created_by ?? ''}
                    </td>
                    <td>
                      {time(v.activated_at)} {v.activated_by ?? ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      )}
    </>
  );
}
