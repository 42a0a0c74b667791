import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MailModule } from '../mail/mail.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { accountEmailConfig } from './account-email.config';
import { AccountEmailLifecycle } from './account-email.lifecycle';
import { AccountEmailService } from './account-email.service';
import { AddressRateLimit } from './address-rate-limit';
import { EmailChangeController } from './email-change.controller';
import { EmailLinksController } from './email-links.controller';
import { EmailPagesController } from './email-pages.controller';
import { EmailRequest } from './email-request.entity';
import { EmailRequestsWorker } from './email-requests.worker';
import { EmailToken } from './email-token.entity';
import { EmailTokensService } from './email-tokens.service';
import { EmailVerificationService } from './email-verification.service';

/**
 * Emailed links (../shared/API.md, "Email"): verification, forgotten passwords, email
 * changes, and the pages those links open. AuthModule imports it for registration's
 * verification mail and login's `email_not_verified` (EmailVerificationService); it imports no module above users.
 */
@Module({
  imports: [
    ConfigModule.forFeature(accountEmailConfig),
    TypeOrmModule.forFeature([EmailToken, EmailRequest]),
    UsersModule,
    TokensModule,
    MailModule,
    RateLimitModule,
  ],
  controllers: [EmailLinksController, EmailChangeController, EmailPagesController],
  providers: [AccountEmailService, EmailVerificationService, EmailTokensService, AddressRateLimit, EmailRequestsWorker, AccountEmailLifecycle],
  exports: [EmailVerificationService],
})
export class AccountEmailModule {}
