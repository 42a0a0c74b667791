import type { UserResponse } from '../../users/dto/user.response';

/** POST /auth/register with EMAIL_VERIFICATION=required: the account, and no session until its address is verified. */
export interface RegisteredResponse {
  user: UserResponse;
}
