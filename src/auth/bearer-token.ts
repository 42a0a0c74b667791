import { ApiError } from '../common/api-error';

/** A longer header is refused before any parsing. */
export const MAX_BEARER_TOKEN_LENGTH = 8192;
/** The scheme is case-insensitive (RFC 7235); the token is a compact JWS. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;
/** A refresh token (`rt_` + base64url, src/tokens/refresh-tokens.service.ts) where an access token belongs. */
const BEARER_REFRESH_TOKEN = /^Bearer +rt_[A-Za-z0-9_-]*$/i;

/** The compact JWS from `Authorization: Bearer …`, or a 401 that says what is wrong with the header. */
export function bearerToken(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers.authorization;
  if (header === undefined || header === '') throw new ApiError(401, 'token_missing', 'Bearer token is missing');
  if (typeof header !== 'string' || header.length > MAX_BEARER_TOKEN_LENGTH + 7) {
    throw new ApiError(401, 'token_invalid', 'Access token is invalid');
  }
  const match = BEARER.exec(header);
  if (!match) {
    // A common mix-up, told plainly; still token_invalid, and the token is never looked up.
    if (BEARER_REFRESH_TOKEN.test(header)) {
      throw new ApiError(401, 'token_invalid', 'This is a refresh token: refresh tokens go to POST /auth/refresh, and only access tokens go in the Authorization header');
    }
    throw new ApiError(401, 'token_invalid', 'Authorization header must be "Bearer <access token>"');
  }
  return match[1];
}
