import { describe, expect, it } from 'vitest';
import { useTestApp } from './fixture.ts';

const { app, users, secrets } = useTestApp({ users: { ana: 'customer', root: 'admin' } });

/** What reading the app gave while the file was being collected, before any hook ran. */
const readTooEarly = (() => {
  try {
    return app.url;
  } catch (error) {
    return error;
  }
})();

describe('useTestApp', () => {
  it('says what went wrong when a handle is read before beforeAll has run', () => {
    expect(readTooEarly).toBeInstanceOf(Error);
    expect((readTooEarly as Error).message).toBe('app exists once beforeAll has run: use it inside a test or hook');
  });

  it('starts the app and registers each user, in order, with the role asked for', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const rows = await app.database.db
      .selectFrom('users')
      .select(['id', 'email', 'role'])
      .orderBy('created_at')
      .execute();
    expect(rows).toEqual([
      { id: users.ana.id, email: users.ana.email, role: 'customer' },
      { id: users.root.id, email: users.root.email, role: 'admin' },
    ]);
    expect(users.ana.email).toMatch(/^ana-/);
  });

  it('hands out users that read, spread and serialise like the registered ones', () => {
    const { ana } = users;
    expect({ ...ana }).toEqual(JSON.parse(JSON.stringify(ana)));
    expect(Object.keys(ana).sort()).toEqual(['accessToken', 'email', 'id', 'password', 'refreshToken', 'session']);
    expect('accessToken' in ana).toBe(true);
  });

  it('records every password and token of the users in the ledger the log check reads', () => {
    // Per user: the password, the access and refresh tokens and the refresh token's digest.
    expect(secrets.size).toBe(8);
  });
});
