import { createContext, useContext } from 'react';
import type { Me, Role } from './api';

export const SessionContext = createContext<{ me: Me; signOut: () => void } | null>(null);

export function useSession() {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** What a role may do, as the server's route declarations say (src/server/auth.ts); the server checks again. */
export const may = {
  decide: (r: Role) => r === 'admin' || r === 'lead' || r === 'reviewer',
  lead: (r: Role) => r === 'admin' || r === 'lead',
};
