import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { JwtAuthGuard } from '../src/auth/guards/jwt-auth.guard';
import { JwtStrategy } from '../src/auth/strategies/jwt.strategy';
import { AccessTokenService } from '../src/tokens/access-token.service';
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
  /** AccessTokenService.verify() alone, in full (signature, decoding, claims). */
  verifyUs: number;
}

export function guardMicroseconds(iterations = 200_000, batches = 7): GuardMicro {
  const config = tokensConfig();
  const tokens = new AccessTokenService(config);
  const guard = new JwtAuthGuard(new Reflector(), new JwtStrategy(tokens));
  const uncachedTokens = new AccessTokenService({ ...config, verifiedCacheSize: 0 });
  const uncachedGuard = new JwtAuthGuard(new Reflector(), new JwtStrategy(uncachedTokens));
  const token = tokens.sign({ id: '6f1c2f0e-8a8e-4a57-9d3e-2b1f0c9a7d11', roles: [Role.User] });
  const request = { headers: { authorization: `Bearer ${token}` } as Record<string, string>, user: undefined as unknown };
  const context = new ExecutionContextHost([request, {}], Handlers, Handlers.prototype.guarded);
  const time = (run: () => void) => {
    const samples: number[] = [];
    for (let batch = 0; batch < batches; batch += 1) {
      const started = process.cpuUsage();
      for (let i = 0; i < iterations; i += 1) run();
      const used = process.cpuUsage(started);
      samples.push((used.user + used.system) / iterations);
    }
    return samples.sort((a, b) => a - b)[Math.floor(batches / 2)];
  };
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    medianUs: round2(time(() => guard.canActivate(context))),
    uncachedUs: round2(time(() => uncachedGuard.canActivate(context))),
    verifyUs: round2(time(() => uncachedTokens.verify(token))),
  };
}

