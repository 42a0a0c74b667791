import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, KeyObject, randomUUID } from 'node:crypto';
import type { Role } from '../users/role';
import { tokensConfig, TokensConfig } from './tokens.config';

/** RFC 9068's media type for access tokens: a JWT of any other type is never accepted as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenSubject {
  id: string;
  roles: Role[];
}

/**
 * Signs short-lived access tokens. The key is prepared once as a KeyObject:
 * jsonwebtoken re-derives a string secret on every call, which costs more than the
 * signature itself.
 */
@Injectable()
export class AccessTokenService {
  readonly key: KeyObject;

  constructor(
    @Inject(tokensConfig.KEY) readonly config: TokensConfig,
    private readonly jwt: JwtService,
  ) {
    this.key = createSecretKey(config.secret);
  }

  get lifetimeSeconds(): number {
    return this.config.accessTtlSeconds;
  }

  sign(subject: AccessTokenSubject): Promise<string> {
    return this.jwt.signAsync(
      { roles: subject.roles },
      {
        privateKey: this.key,
        algorithm: this.config.algorithm,
        header: { alg: this.config.algorithm, typ: ACCESS_TOKEN_TYPE },
        subject: subject.id,
        jwtid: randomUUID(),
        issuer: this.config.issuer,
        audience: this.config.audience,
        expiresIn: this.config.accessTtlSeconds,
      },
    );
  }
}
