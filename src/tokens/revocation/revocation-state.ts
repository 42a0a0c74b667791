/**
 * What this instance knows is revoked, in memory, so that the guard decides without a
 * database query: ended sessions, and per-user "not before" times (a role change or a
 * disabling revokes every access token of the user issued before it).
 *
 * An entry is kept only as long as an access token it concerns can still be accepted:
 * `forgetAt` is the revocation time plus the access token lifetime and the clock leeway.
 * After that every token it could refuse has expired anyway, so memory stays bounded by
 * the revocations of one access token lifetime.
 */
export interface RevokedClaims {
  sub: string;
  sid: string;
  iat: number;
}

/** A revocation as it travels between instances (epoch seconds). */
export type Revocation =
  | { kind: 'sessions'; sessionIds: string[]; forgetAt: number }
  | { kind: 'user'; userId: string; notBefore: number; forgetAt: number };

export class RevocationState {
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, { notBefore: number; forgetAt: number }>();

  isRevoked(claims: RevokedClaims): boolean {
    if (this.sessions.has(claims.sid)) return true;
    const cutoff = this.users.get(claims.sub);
    return cutoff !== undefined && claims.iat < cutoff.notBefore;
  }

  /** The earliest `iat` a new token of this user may carry (0 when there is no cut-off). */
  notBefore(userId: string): number {
    return this.users.get(userId)?.notBefore ?? 0;
  }

  apply(revocation: Revocation, nowSeconds: number): void {
    if (revocation.forgetAt <= nowSeconds) return;
    if (revocation.kind === 'sessions') {
      for (const id of revocation.sessionIds) {
        this.sessions.set(id, Math.max(this.sessions.get(id) ?? 0, revocation.forgetAt));
      }
      return;
    }
    const known = this.users.get(revocation.userId);
    this.users.set(revocation.userId, {
      notBefore: Math.max(known?.notBefore ?? 0, revocation.notBefore),
      forgetAt: Math.max(known?.forgetAt ?? 0, revocation.forgetAt),
    });
  }

  /** Drops what can no longer concern a live token. */
  sweep(nowSeconds: number): void {
    for (const [id, forgetAt] of this.sessions) if (forgetAt <= nowSeconds) this.sessions.delete(id);
    for (const [id, cutoff] of this.users) if (cutoff.forgetAt <= nowSeconds) this.users.delete(id);
  }

  get size(): { sessions: number; users: number } {
    return { sessions: this.sessions.size, users: this.users.size };
  }
}

/**
 * A RevocationState as AccessTokenService consults it, without the database and the channel
 * around it: for the unit specs and the guard's micro-benchmark (RevocationService is the same
 * two calls over one of these).
 */
export function revocationCheckOver(state: RevocationState) {
  return {
    isRevoked: (claims: RevokedClaims) => state.isRevoked(claims),
    issuedAt: (userId: string, now: number) => Math.max(now, state.notBefore(userId)),
  };
}
