import 'reflect-metadata';
import { createApp } from '../src/app.setup';
import { BenchModule } from './bench.module';

/** The service as production runs it, plus the bench-only routes. Started by run.ts in its own process. */
async function main() {
  const app = await createApp({ modules: [BenchModule], logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
