import type { Role } from './role';

/** What the JWT guard puts on the request: the token's claims, without a database read. */
export interface AuthUser {
  id: string;
  roles: Role[];
}
