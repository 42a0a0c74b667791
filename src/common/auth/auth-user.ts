import type { Role } from './role';

/** What the JWT guard puts on the request: the token's claims, without a database read. */
export interface AuthUser {
  id: string;
  roles: Role[];
  /** The session the token was issued for (`sid`; an id of GET /auth/sessions). */
  sessionId: string;
  /** How that session was authenticated (`amr`): `pwd`, `otp`, `recovery_code`, `passkey`. */
  amr: readonly string[];
  /** Its assurance level (`aal`): 1, or 2 after a second factor or a passkey. */
  aal: number;
}
