import { ApiError, type Api } from '$lib/api/client';
import type { Session } from '$lib/api/types';

/** Who is signed in, or null (401). Other errors (api down) are thrown. */
export async function readSession(api: Api): Promise<Session | null> {
  try {
    return (await api.get<{ data: Session }>('/api/session')).data;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/** Trades a token for the session cookie, then reads the role the api gives it. */
export async function signIn(api: Api, token: string): Promise<Session> {
  await api.post('/api/session', { token: token.trim() });
  const s = await readSession(api);
  if (!s) throw new ApiError(401, 'unauthorized', 'Signed in, but the browser did not keep the session cookie. Allow cookies for this site and try again.');
  return s;
}

export async function signOut(api: Api): Promise<void> {
  await api.delete('/api/session');
}

/** A same-origin path to go back to after signing in (never another site). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/signin')) return '/';
  return next;
}
