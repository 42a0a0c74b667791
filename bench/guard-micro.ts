import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { JwtAuthGuard } from '../src/auth/guards/jwt-auth.guard';
import { JwtStrategy } from '../src/auth/strategies/jwt.strategy';
import { AccessTokenService } from '../src/tokens/access-token.service';
import { tokensConfig } from '../src/tokens/tokens.config';
import { Role } from '../src/users/role';

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

export function guardMicroseconds(iterations = 200_000, batches = 7): { medianUs: number; verifyUs: number } {
  const tokens = new AccessTokenService(tokensConfig());
  const strategy = new JwtStrategy(tokens);
  const guard = new JwtAuthGuard(new Reflector(), strategy);
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
  const medianUs = time(() => guard.canActivate(context));
  const verifyUs = time(() => tokens.verify(token));
  return { medianUs: Math.round(medianUs * 100) / 100, verifyUs: Math.round(verifyUs * 100) / 100 };
}

