import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { JwtService } from '@nestjs/jwt';
import { JwtAuthGuard } from '../src/auth/guards/jwt-auth.guard';
import { AccessTokenService } from '../src/tokens/access-token.service';
import { revocationCheckOver, RevocationState } from '../src/tokens/revocation/revocation-state';
import { randomUUID } from 'node:crypto';
import { jwtModuleOptions } from '../src/tokens/jwt-options';
import { tokensConfig } from '../src/tokens/tokens.config';
import { Role } from '../src/common/auth';

/**
 * The product's JwtAuthGuard in isolation: canActivate() on a protected handler with a
 * valid token, timed in this process. No HTTP, no other process: a figure that the
 * machine's noise barely moves, beside the /proc-based one of the load test.
 */
class Handlers {
  guarded() {
    return { ok: true };
  }
}

export interface GuardMicro {
  /** canActivate() as shipped: the token is remembered after its first verification. */
  medianUs: number;
  /** canActivate() with ACCESS_TOKEN_CACHE_SIZE=0: a full verification every call. */
  uncachedUs: number;
  /** AccessTokenService.verify() alone, in full (header rules, jsonwebtoken, claims). */
  verifyUs: number;
  /** JwtService.verify() alone (@nestjs/jwt over jsonwebtoken, with the module's key provider): most of the above. */
  jwtServiceVerifyUs: number;
}

export function guardMicroseconds(iterations = 200_000, batches = 7): GuardMicro {
  const config = tokensConfig();
  const jwt = new JwtService(jwtModuleOptions(config)); // as TokensModule registers it
  // The revocation check as the service runs it, over a state that holds 100,000 ended sessions.
  const state = new RevocationState();
  state.apply({ kind: 'sessions', sessionIds: Array.from({ length: 100_000 }, () => randomUUID()), forgetAt: Number.MAX_SAFE_INTEGER }, 0);
  const revocations = revocationCheckOver(state);
  const tokens = new AccessTokenService(config, jwt, revocations);
  const guard = new JwtAuthGuard(new Reflector(), tokens);
  const uncachedTokens = new AccessTokenService({ ...config, verifiedCacheSize: 0 }, jwt, revocations);
  const uncachedGuard = new JwtAuthGuard(new Reflector(), uncachedTokens);
  const token = tokens.sign({ id: '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11', roles: [Role.User] }, { id: randomUUID(), amr: ['pwd'], aal: 1 });
  // user is reset before each call: the guard lets a request it has already authenticated through.
  const request = { headers: { authorization: `Bearer ${token}` } as Record<string, string>, user: null as unknown };
  const context = new ExecutionContextHost([request, {}], Handlers, Handlers.prototype.guarded);
  // A full verification costs tens of times a remembered one: a tenth of the calls keeps each batch near a second.
  const time = (run: () => void, calls = iterations) => {
    const samples: number[] = [];
    for (let batch = 0; batch < batches; batch += 1) {
      const started = process.cpuUsage();
      for (let i = 0; i < calls; i += 1) run();
      const used = process.cpuUsage(started);
      samples.push((used.user + used.system) / calls);
    }
    return samples.sort((a, b) => a - b)[Math.floor(batches / 2)];
  };
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    medianUs: round2(
      time(() => {
        request.user = null;
        guard.canActivate(context);
      }),
    ),
    uncachedUs: round2(
      time(() => {
        request.user = null;
        uncachedGuard.canActivate(context);
      }, iterations / 10),
    ),
    verifyUs: round2(time(() => uncachedTokens.verify(token), iterations / 10)),
    jwtServiceVerifyUs: round2(time(() => jwt.verify(token, { ignoreExpiration: true }), iterations / 10)),
  };
}

