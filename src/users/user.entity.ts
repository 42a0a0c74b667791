import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Role } from '../common/auth';

// The decorators mirror the migrations, so that `migration:generate` finds no difference.
@Entity({ name: 'users' })
@Check('CHK_users_email_normalised', `"email" = lower(btrim("email"))`)
@Index('IDX_users_created_at', ['createdAt', 'id'])
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Stored normalised (trimmed, lower-cased); unique. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email: string;

  /** bcrypt hash; never serialised (see toUserResponse). */
  @Column({ name: 'password_hash', type: 'varchar', length: 100 })
  passwordHash: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100, nullable: true })
  displayName: string | null;

  @Column({ type: 'text', array: true, default: () => "'{user}'" })
  roles: Role[];

  /** When the address was shown to be the user's (a verification link, a reset, a confirmed change); null until then. */
  @Column({ name: 'email_verified_at', type: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null;

  /** When an admin disabled the account; null while it is enabled. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  /** TOTP is on (set by the MFA module in the transaction that turns it on or off). */
  @Column({ name: 'mfa_enabled', type: 'boolean', default: false })
  mfaEnabled: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
