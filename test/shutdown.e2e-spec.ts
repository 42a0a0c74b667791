import { Controller, Get, Module } from '@nestjs/common';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { Public } from '../src/common/auth';
import { startApp } from './support/test-app';

@Controller('probe')
class SlowController {
  @Public()
  @Get('slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { finished: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

describe('graceful shutdown', () => {
  // SIGTERM runs app.close() (enableShutdownHooks in app.setup.ts); closing here is that same path.
  it('lets in-flight requests finish, refuses new ones, and closes the database', async () => {
    const app = await startApp({}, undefined, undefined, [SlowModule]);
    const inFlight = request(app.url).get('/probe/slow');
    const pending = inFlight.then((response) => response);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the request is being served
    const closing = app.close();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ finished: true });
    await closing;
    expect(app.dataSource.isInitialized).toBe(false);
    await expect(request(app.url).get('/health').timeout(2000)).rejects.toThrow(/ECONNREFUSED|socket hang up|ECONNRESET/);
  });
});
