/**
 * The shared auth vocabulary: what every module (users, tokens, extension modules) may
 * import without depending on AuthModule. The guards that act on it live in `src/auth`.
 */
export { AuthUser } from './auth-user';
export { Client, clientInfoOf } from './client-info.decorator';
export { ClientInfo } from './client-info';
export { CurrentUser } from './current-user.decorator';
export { IS_PUBLIC_KEY, Public, PUBLIC_OPERATION_EXTENSION } from './public.decorator';
export { ALL_ROLES, Role, RoleName } from './role';
export { AAL_KEY, RequireAal, STEP_UP_REQUIRED_DESCRIPTION } from './require-aal.decorator';
export { Roles, ROLES_KEY } from './roles.decorator';
