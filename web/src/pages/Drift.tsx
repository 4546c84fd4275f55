import { useMemo } from 'react';
import type { DriftOverview, FieldDrift, FieldSeries } from '../../../src/server/schemas/drift.js';
import { api, enc } from '../api';
import { Chart } from '../components/Chart';
import { ErrorBox, Loading, NotAvailable, num, Page, pct, time } from '../components/ui';
import { useLoad } from '../hooks';
import { Link } from '../router';
import { PipelinePicker, useFirstPipeline } from './PipelinePicker';

export function DriftPage({ pipeline, field }: { pipeline?: string; field?: string }) {
  const p = useFirstPipeline(pipeline);
  return (
    <Page title={`Drift${p ? ` · ${p}` : ''}${field ? ` · ${field}` : ''}`}>
      <PipelinePicker page="drift" current={p} />
      {p ? field ? <DriftField pipeline={p} field={field} /> : <DriftOf pipeline={p} /> : null}
    </Page>
  );
}

function DriftOf({ pipeline }: { pipeline: string }) {
  const d = useLoad(() => api.get<DriftOverview>(`/v1/pipelines/${enc(pipeline)}/drift`), [pipeline]);
  if (d.error?.routeMissing) return <NotAvailable what="drift monitoring" />;
  if (d.error?.status === 404) return <p className="notice">{d.error.message}</p>;
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <Loading what="drift" />;
  const report = d.data;
  return (
    <>
      <p>
        {report.dataset_drift ? <strong className="bad">Dataset drift</strong> : 'No dataset drift'}: {String(report.drifted_fields)} of{' '}
        {String(report.tested_fields)} tested fields drifted ({pct(report.drift_share)}; the rule is {pct(report.share_threshold, 0)}).
        Window from {time(report.window.start)}: {String(report.rows)} rows, against {String(report.reference.rows)} rows in the reference.
      </p>
      <FieldsTable pipeline={pipeline} fields={report.fields} />
    </>
  );
}

function FieldsTable({ pipeline, fields }: { pipeline: string; fields: FieldDrift[] }) {
  return (
    <div className="table-wrap">
      <table className="list" aria-label="Fields ranked by drift">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Drift</th>
            <th scope="col">Test</th>
            <th scope="col">Statistic</th>
            <th scope="col">Threshold</th>
            <th scope="col">p (BH-adjusted)</th>
            <th scope="col">Reference → current</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((f) => (
            <tr key={f.name} className={f.drift ? 'violation' : undefined}>
              <th scope="row">
                <Link to={`/pipelines/${enc(pipeline)}/drift/${enc(f.name)}`}>{f.name}</Link>
              </th>
              <td>{f.drift ? 'drift' : 'no'}</td>
              <td>{f.test}</td>
              <td>{num(f.statistic)}</td>
              <td>{num(f.threshold)}</td>
              <td>{num(f.p_value_adjusted ?? f.p_value, 4)}</td>
              <td>{sides(f)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function sides(f: FieldDrift): string {
  const r = f.reference;
  const c = f.current;
  if (!r || !c) return '—';
  if (typeof r.mean === 'number' && typeof c.mean === 'number') return `mean ${num(r.mean)} → ${num(c.mean)}`;
  return `missing ${pct(r.missing_share)} → ${pct(c.missing_share)}`;
}

function DriftField({ pipeline, field }: { pipeline: string; field: string }) {
  const d = useLoad(() => api.get<FieldSeries>(`/v1/pipelines/${enc(pipeline)}/drift/${enc(field)}/series?windows=48`), [pipeline, field]);
  const series = d.data?.series ?? [];
  const last = series.length ? series[series.length - 1] : undefined;
  const seriesChart = useMemo(
    () =>
      series.length === 0
        ? null
        : {
            tooltip: { trigger: 'axis' },
            grid: { left: 48, right: 16, top: 24, bottom: 32 },
            xAxis: { type: 'category', data: series.map((s) => new Date(s.start).toLocaleString()) },
            yAxis: { type: 'value', name: last?.test ?? 'statistic' },
            series: [
              {
                name: field,
                type: 'line',
                connectNulls: false,
                data: series.map((s) => s.statistic),
                ...(last && last.threshold !== null
                  ? {
                      markLine: {
                        symbol: 'none',
                        label: { formatter: `threshold ${num(last.threshold)}`, position: 'insideEndTop' },
                        data: [{ yAxis: last.threshold }],
                      },
                    }
                  : {}),
              },
            ],
          },
    [series, field, last],
  );
  const dist = d.data?.distribution ?? null;
  const binsChart = useMemo(() => {
    if (!dist) return null;
    return {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 48, right: 16, top: 24, bottom: 56 },
      xAxis: { type: 'category', data: dist.labels, axisLabel: { rotate: dist.labels.length > 8 ? 30 : 0 } },
      yAxis: { type: 'value', name: 'share of values' },
      series: [
        { name: 'reference', type: 'bar', data: dist.reference },
        { name: `current (window of ${new Date(dist.window_start).toLocaleString()})`, type: 'bar', data: dist.current },
      ],
    };
  }, [dist]);
  if (d.error?.routeMissing) return <NotAvailable what="drift monitoring" />;
  if (d.error?.status === 404) return <p className="notice">{d.error.message}</p>;
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <Loading what="the field's drift" />;
  return (
    <>
      <p>
        <Link to={`/pipelines/${enc(pipeline)}/drift`}>← All fields of {pipeline}</Link>
      </p>
      {last ? (
        <p>
          {last.drift ? <strong className="bad">Drifted</strong> : 'No drift'} in the latest window ({new Date(last.start).toLocaleString()}
          , {last.rows} rows): {last.test} = {num(last.statistic)} against {num(last.threshold)}
          {last.p_value_adjusted !== null ? `, p (BH-adjusted) = ${num(last.p_value_adjusted, 4)}` : ''}. {last.note ?? ''}
        </p>
      ) : (
        <p>No window has records for {field} yet.</p>
      )}
      {seriesChart ? (
        <Chart
          option={seriesChart}
          label={`${field}: drift statistic per ${d.data.window_size === 'hourly' ? 'hour' : d.data.window_size === 'daily' ? 'day' : 'window'}`}
          summary={series.map((s) => `${s.start}: ${num(s.statistic)}`).join(', ')}
        />
      ) : null}
      {binsChart && dist ? (
        <Chart
          option={binsChart}
          label={`${field}: the reference beside the current distribution`}
          summary={dist.labels.map((l, i) => `${l}: ${pct(dist.reference[i])} → ${pct(dist.current[i])}`).join(', ')}
        />
      ) : null}
    </>
  );
}
