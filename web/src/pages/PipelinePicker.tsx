import { api, enc, type Pipeline } from '../api';
import { ErrorBox, Loading } from '../components/ui';
import { useLoad } from '../hooks';
import { useRouter } from '../router';

/** Chooses the pipeline a per-pipeline page shows; goes to `/pipelines/NAME/${page}`. */
export function PipelinePicker({ page, current }: { page: string; current?: string }) {
  const { navigate } = useRouter();
  const pipelines = useLoad(() => api.get<{ pipelines: Pipeline[] }>('/v1/pipelines'), []);
  if (pipelines.error) return <ErrorBox error={pipelines.error} />;
  if (!pipelines.data) return <Loading what="pipelines" />;
  return (
    <form className="filters" aria-label="Choose a pipeline" onSubmit={(e) => e.preventDefault()}>
      <label>
        Pipeline
        <select value={current ?? ''} onChange={(e) => navigate(`/pipelines/${enc(e.target.value)}/${page}`)}>
          {current ? null : <option value="">choose…</option>}
          {pipelines.data.pipelines.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

/** The first pipeline, for pages opened without one. */
export function useFirstPipeline(current?: string): string | undefined {
  const pipelines = useLoad(() => (current ? Promise.resolve(null) : api.get<{ pipelines: Pipeline[] }>('/v1/pipelines')), [current]);
  return current ?? pipelines.data?.pipelines[0]?.name;
}
