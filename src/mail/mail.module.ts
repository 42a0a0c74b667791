import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { appConfig } from '../config/app.config';
import { mailConfig, MailConfig } from './mail.config';
import { MailLifecycle } from './mail.lifecycle';
import { MailService } from './mail.service';
import { createMailTransport, MAIL_TRANSPORT } from './mail-transport';
import { MailWorker } from './mail.worker';
import { OutboxMessage } from './outbox-message.entity';

/**
 * Mail through an outbox: MailService.enqueue() writes a row in the caller's transaction,
 * MailWorker sends it (SMTP_URL, or .eml files under DATA_DIR/mail outside production).
 * Modules that send mail import this one.
 */
@Module({
  imports: [ConfigModule.forFeature(mailConfig), ConfigModule.forFeature(appConfig), TypeOrmModule.forFeature([OutboxMessage])],
  providers: [
    MailService,
    MailWorker,
    MailLifecycle, // drops a deleted user's pending mail
    { provide: MAIL_TRANSPORT, inject: [mailConfig.KEY], useFactory: (config: MailConfig) => createMailTransport(config.transport) },
  ],
  exports: [MailService],
})
export class MailModule {}
