export enum Role {
  User = 'user',
  Admin = 'admin',
}

export const ALL_ROLES: readonly Role[] = Object.values(Role);

/** A role as its enum member or its name: `@Roles('admin')` and `@Roles(Role.Admin)` both compile. */
export type RoleName = Role | `${Role}`;
