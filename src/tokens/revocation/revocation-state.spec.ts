import { describe, expect, it } from 'vitest';
import { RevocationState } from './revocation-state';

const USER = '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11';
const OTHER = '0b6a4a43-5d43-4c8e-9e5a-3d2f1b0c9a7e';

describe('RevocationState', () => {
  it('refuses every token of an ended session, and only of that session', () => {
    const state = new RevocationState();
    state.apply({ kind: 'sessions', sessionIds: ['s1', 's2'], forgetAt: 2000 }, 1000);
    expect(state.isRevoked({ sub: USER, sid: 's1', iat: 999 })).toBe(true);
    expect(state.isRevoked({ sub: USER, sid: 's2', iat: 1001 })).toBe(true);
    expect(state.isRevoked({ sub: USER, sid: 's3', iat: 999 })).toBe(false);
  });

  it('refuses a user’s tokens issued before the cut-off, not those issued at or after it, nor other users’', () => {
    const state = new RevocationState();
    state.apply({ kind: 'user', userId: USER, notBefore: 1000, forgetAt: 2000 }, 1000);
    expect(state.isRevoked({ sub: USER, sid: 's', iat: 999 })).toBe(true);
    expect(state.isRevoked({ sub: USER, sid: 's', iat: 1000 })).toBe(false);
    expect(state.isRevoked({ sub: OTHER, sid: 's', iat: 999 })).toBe(false);
    expect(state.notBefore(USER)).toBe(1000);
    expect(state.notBefore(OTHER)).toBe(0);
  });

  it('keeps the later cut-off whatever order messages arrive in (a replayed old message changes nothing)', () => {
    const state = new RevocationState();
    state.apply({ kind: 'user', userId: USER, notBefore: 1500, forgetAt: 2500 }, 1000);
    state.apply({ kind: 'user', userId: USER, notBefore: 1200, forgetAt: 2200 }, 1000);
    expect(state.notBefore(USER)).toBe(1500);
    state.sweep(2300);
    expect(state.isRevoked({ sub: USER, sid: 's', iat: 1400 })).toBe(true);
  });

  it('forgets an entry once no token it concerns can live, and ignores one already past', () => {
    const state = new RevocationState();
    state.apply({ kind: 'sessions', sessionIds: ['s1'], forgetAt: 2000 }, 1000);
    state.apply({ kind: 'user', userId: USER, notBefore: 1000, forgetAt: 2000 }, 1000);
    state.apply({ kind: 'sessions', sessionIds: ['old'], forgetAt: 900 }, 1000);
    expect(state.size).toEqual({ sessions: 1, users: 1 });
    state.sweep(1999);
    expect(state.size).toEqual({ sessions: 1, users: 1 });
    state.sweep(2000);
    expect(state.size).toEqual({ sessions: 0, users: 0 });
    expect(state.isRevoked({ sub: USER, sid: 's1', iat: 999 })).toBe(false);
  });
});
