import type { UserResponse } from '../../users/dto/user.response';

export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** The access token's lifetime in seconds. */
  expiresIn: number;
  user: UserResponse;
}
