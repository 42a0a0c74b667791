import type { UserResponse } from '../../users/dto/user.response';

export interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** The access token's lifetime in seconds. */
  expiresIn: number;
  user: UserResponse;
}
