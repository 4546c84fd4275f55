import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Me, type Pipeline, setCsrfToken, setUnauthorizedHandler } from './api';
import { CasePage } from './pages/Case';
import { ConfidencePage } from './pages/Confidence';
import { DeliveriesPage } from './pages/Deliveries';
import { DriftPage } from './pages/Drift';
import { HaltPage, HaltsPage } from './pages/Halts';
import { QuarantineDetailPage, QuarantinePage } from './pages/Quarantine';
import { QueuePage } from './pages/Queue';
import { ReadinessPage } from './pages/Readiness';
import { SignIn } from './pages/SignIn';
import { Link, match, useRouter } from './router';
import { SessionContext } from './session';

const NAV: [string, string][] = [
  ['/queue', 'Queue'],
  ['/quarantine', 'Quarantine'],
  ['/halts', 'Schema changes'],
  ['/deliveries', 'Deliveries'],
  ['/confidence', 'Confidence'],
  ['/drift', 'Drift'],
  ['/readiness', 'Readiness'],
];

export function App() {
  const { location, navigate } = useRouter();
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const firstPage = useRef(true);

  // After a navigation, focus moves to the new page's heading (screen readers announce it; Tab goes on from there).
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every change of page
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    (document.querySelector('main h1') as HTMLElement | null)?.focus();
  }, [location.path]);

  const signedIn = useCallback((m: Me) => {
    setCsrfToken(m.csrf_token);
    setMe(m);
    setNotice(null);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      setMe(null);
      setNotice('Your session has ended (it expired or was signed out). Sign in again.');
    });
    api
      .get<Me>('/v1/auth/me')
      .then(signedIn, () => setMe(null))
      .finally(() => setChecked(true));
  }, [signedIn]);

  const signOut = useCallback(async () => {
    await api.post('/v1/auth/logout').catch(() => {});
    setCsrfToken(null);
    setMe(null);
    setNotice('You are signed out.');
    navigate('/queue', true);
  }, [navigate]);

  if (!checked) return <p className="muted">Loading…</p>;
  if (!me) return <SignIn notice={notice} onSignedIn={signedIn} />;

  return (
    <SessionContext.Provider value={{ me, signOut }}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Airlock</span>
        <nav aria-label="Pages">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <Link to={to}>{label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="signed-in-as">
            {me.user.name} <span className="role">({me.user.role})</span>
          </span>
          {me.via === 'session' ? (
            <button type="button" className="link" onClick={signOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <HaltBanner path={location.path} />
      <main id="main">
        <Routes path={location.path} />
      </main>
    </SessionContext.Provider>
  );
}

/** On every page while a pipeline is halted on a schema change. */
function HaltBanner({ path }: { path: string }) {
  const [halted, setHalted] = useState<string[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload on every page change, and every 10 s
  useEffect(() => {
    let stop = false;
    const load = () =>
      api
        .get<{ pipelines: Pipeline[] }>('/v1/pipelines')
        .then((r) => !stop && setHalted(r.pipelines.filter((p) => p.halted).map((p) => p.name)))
        .catch(() => {});
    void load();
    const t = setInterval(load, 10_000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [path]);
  if (halted.length === 0) return null;
  return (
    <div className="banner" role="alert" data-testid="halt-banner">
      {halted.map((p) => (
        <span key={p}>
          Pipeline <strong>{p}</strong> is halted on a schema change: records wait until someone decides.{' '}
          <Link to={`/halts/${encodeURIComponent(p)}`}>Review the change</Link>
        </span>
      ))}
    </div>
  );
}

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '/queue') return <QueuePage />;
  if ((m = match('/cases/:id', path))) return <CasePage id={m.id} />;
  if (path === '/quarantine') return <QuarantinePage />;
  if ((m = match('/quarantine/:pipeline/:id', path))) return <QuarantineDetailPage pipeline={m.pipeline} id={m.id} />;
  if (path === '/halts') return <HaltsPage />;
  if ((m = match('/halts/:pipeline', path))) return <HaltPage pipeline={m.pipeline} />;
  if (path === '/deliveries') return <DeliveriesPage />;
  if (path === '/confidence') return <ConfidencePage />;
  if ((m = match('/pipelines/:pipeline/confidence', path))) return <ConfidencePage pipeline={m.pipeline} />;
  if (path === '/drift') return <DriftPage />;
  if ((m = match('/pipelines/:pipeline/drift', path))) return <DriftPage pipeline={m.pipeline} />;
  if ((m = match('/pipelines/:pipeline/drift/:field', path))) return <DriftPage pipeline={m.pipeline} field={m.field} />;
  if (path === '/readiness') return <ReadinessPage />;
  if ((m = match('/pipelines/:pipeline/readiness', path))) return <ReadinessPage pipeline={m.pipeline} />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no console page at <code>{path}</code>. <Link to="/queue">Go to the queue</Link>.
      </p>
    </section>
  );
}
