import { Module } from '@nestjs/common';
import { UserLifecycleModule } from '../common/user-lifecycle';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';

/**
 * Disabling, enabling and deleting accounts, and ending a user's sessions (admins), and the
 * deletion of one's own account. Deleting and disabling reach every module that takes part
 * in a user's life through UserLifecycle, without importing them.
 */
@Module({
  imports: [UsersModule, TokensModule, UserLifecycleModule, RateLimitModule],
  controllers: [AccountController, AdminController],
  providers: [AdminService],
})
export class AdminModule {}
