import { ApiError } from '../common/api-error';

/** A longer header is refused before any parsing. */
export const MAX_BEARER_TOKEN_LENGTH = 8192;
/** The scheme is case-insensitive (RFC 7235); the token is a compact JWS. */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;

/** The compact JWS from `Authorization: Bearer …`, or a 401 that says what is wrong with the header. */
export function bearerToken(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers.authorization;
  if (header === undefined || header === '') throw new ApiError(401, 'token_missing', 'Bearer token is missing');
  if (typeof header !== 'string' || header.length > MAX_BEARER_TOKEN_LENGTH + 7) {
    throw new ApiError(401, 'token_invalid', 'Access token is invalid');
  }
  const match = BEARER.exec(header);
  if (!match) throw new ApiError(401, 'token_invalid', 'Authorization header must be "Bearer <access token>"');
  return match[1];
}
