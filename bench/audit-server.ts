import 'reflect-metadata';
import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../src/audit';
import type { AuditEvent } from '../src/audit/audit-event.entity';
import { createApp } from '../src/app.setup';

/**
 * Auditing switched off, for the benchmark only (bench/audit-login.ts): record() and
 * recordStandalone() write nothing. Never shipped: the product has no way to turn auditing off.
 */
@Injectable()
class AuditOff implements OnModuleInit {
  constructor(private readonly audit: AuditService) {}

  onModuleInit(): void {
    const nothing = async () => ({}) as AuditEvent;
    Object.assign(this.audit, { record: nothing, recordStandalone: nothing });
  }
}

@Module({ providers: [AuditOff] })
class AuditOffModule {}

/** The service as bench/server.ts starts it, without its bench routes; with BENCH_AUDIT=off, without auditing. */
async function main() {
  const modules = process.env.BENCH_AUDIT === 'off' ? [AuditOffModule] : [];
  const app = await createApp({ modules, logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
