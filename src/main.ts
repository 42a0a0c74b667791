import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.setup';
import { appConfig, AppConfig } from './config/app.config';
import { ConfigError } from './config/env';

async function bootstrap(): Promise<void> {
  // No console logger before the JSON one is up: a start-up failure is printed once, below.
  const app = await createApp({ logger: false });
  const { port } = app.get<AppConfig>(appConfig.KEY);
  await app.listen(port, '0.0.0.0');
  // The runtime in its own field: what a log search or CI checks (package.json's engines name the supported ones).
  new Logger('Bootstrap').log({ node: process.version, port }, `Listening on port ${port} (Node ${process.version})`);
}

bootstrap().catch((error: unknown) => {
  // A bad variable is named in the message; no stack trace is needed for it.
  const message = error instanceof ConfigError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error);
  console.error(message);
  process.exit(1);
});
