import { type FormEvent, useState } from 'react';
import { api, type Me } from '../api';
import { ErrorBox } from '../components/ui';

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (me: Me) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setPending(true);
    setError(null);
    try {
      await api.post('/v1/auth/login', { name, password });
      // Who am I answers what the console may offer (from the server's own rules).
      onSignedIn(await api.get<Me>('/v1/auth/me'));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setPending(false);
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Sign in to Airlock</h1>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} aria-label="Sign in">
        <label htmlFor="signin-name">Name</label>
        <input id="signin-name" name="name" autoComplete="username" required value={name} onChange={(e) => setName(e.target.value)} />
        <label htmlFor="signin-password">Password</label>
        <input
          id="signin-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}
