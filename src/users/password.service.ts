import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import * as bcrypt from 'bcrypt';
import pLimit, { LimitFunction } from 'p-limit';
import { dictionary } from '@zxcvbn-ts/language-common';
import { usersConfig, UsersConfig } from './users.config';

/**
 * Hashing and the password policy, in one place and in plain sight.
 *
 * bcrypt reads only the first 72 bytes of its input, so passwords are pre-hashed:
 * bcrypt(base64(SHA-256(NFKC(password)))). Every character counts, and two passwords
 * that differ after byte 72 never match. Hashing runs on libuv's thread pool (async
 * bcrypt), never on the event loop, and at most `bcryptConcurrency` (default: the core
 * count) at a time: libuv's four threads on a two-core machine starve the event loop.
 */
@Injectable()
export class PasswordService implements OnModuleInit {
  private readonly commonPasswords: ReadonlySet<string>;
  private dummyHash: Promise<string>;
  private readonly bcryptSlots: LimitFunction;

  constructor(@Inject(usersConfig.KEY) private readonly config: UsersConfig) {
    this.bcryptSlots = pLimit(config.bcryptConcurrency);
    const { minLength, rejectCommon } = config.passwordPolicy;
    const common = rejectCommon ? dictionary['passwords-common'] : [];
    this.commonPasswords = new Set(common.filter((word) => word.length >= minLength).map((word) => word.toLowerCase()));
  }

  onModuleInit(): void {
    this.dummyHash = this.hash(randomBytes(32).toString('base64'));
  }

  hash(password: string): Promise<string> {
    const input = this.prehash(password);
    return this.bcryptSlots(() => bcrypt.hash(input, this.config.bcryptCost));
  }

  verify(password: string, hash: string): Promise<boolean> {
    const input = this.prehash(password);
    return this.bcryptSlots(() => bcrypt.compare(input, hash));
  }

  /**
   * Whether this hash was made at another cost than BCRYPT_COST. After a change of the
   * cost, such accounts are re-hashed at their next login: until then their logins take
   * another time than an unknown email's (checked against a dummy hash at the new cost).
   */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.config.bcryptCost;
  }

  /** Spends the time of a real verification, so an unknown account answers as slowly as a wrong password. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(password, await this.dummyHash);
    return false;
  }

  /** Readable reasons the password breaks the policy; empty when it is acceptable. */
  policyViolations(password: string, field = 'password'): string[] {
    const { minLength, maxLength } = this.config.passwordPolicy;
    const normalised = password.normalize('NFKC');
    const length = [...normalised].length;
    if (length < minLength) return [`${field} must be at least ${minLength} characters long`];
    if (length > maxLength) return [`${field} must be at most ${maxLength} characters long`];
    if (this.commonPasswords.has(normalised.toLowerCase())) return [`${field} is too common; choose a less predictable one`];
    return [];
  }

  private prehash(password: string): string {
    return createHash('sha256').update(password.normalize('NFKC'), 'utf8').digest('base64');
  }
}
