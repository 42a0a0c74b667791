import { Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';
import { bigintAsNumber } from './bigint.transformer';

/** A WebAuthn credential (passkey) of a user, as verifyRegistrationResponse() found it. */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'passkeys' })
@Unique('UQ_passkeys_credential_id', ['credentialId'])
@Index('IDX_passkeys_user', ['userId'])
export class Passkey {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'PK_passkeys' })
  id: string;

  @ForeignKey('User', { name: 'FK_passkeys_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** base64url, as the browser's `credential.id`; at most 1023 bytes (WebAuthn), so 1364 characters. */
  @Column({ name: 'credential_id', type: 'varchar', length: 1364 })
  credentialId: string;

  /** The COSE public key. */
  @Column({ name: 'public_key', type: 'bytea' })
  publicKey: Buffer;

  /** The authenticator's signature counter; must grow at each use unless it stays 0 (passkeys that sync). */
  @Column({ type: 'bigint', default: 0, transformer: bigintAsNumber })
  counter: number;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  transports: string[];

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** `singleDevice` or `multiDevice` (backup eligible). */
  @Column({ name: 'device_type', type: 'varchar', length: 16 })
  deviceType: string;

  @Column({ name: 'backed_up', type: 'boolean' })
  backedUp: boolean;

  /** The authenticator model's AAGUID (all zeros for most, without attestation). */
  @Column({ type: 'uuid' })
  aaguid: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;
}
