import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiErrors } from '../openapi';

export const AAL_KEY = 'requiredAal';

/** What the step-up guard answers to a token below the level a route needs. */
export const STEP_UP_REQUIRED_DESCRIPTION =
  "step_up_required: the token's aal is 1; log in with a second factor (POST /auth/mfa/verify) or a passkey for a token with aal 2";

/**
 * The route needs a session of this assurance level (the token's `aal`): `@RequireAal(2)`
 * for a session that passed a second factor or a passkey. A token below it gets `403
 * step_up_required` from the global AalGuard (src/auth), after the JWT and roles guards.
 * On a controller it covers every route of it.
 */
export const RequireAal = (level: 2) => applyDecorators(SetMetadata(AAL_KEY, level), ApiErrors({ 403: STEP_UP_REQUIRED_DESCRIPTION }));
