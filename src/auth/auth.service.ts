import { Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { AccessTokenService } from '../tokens/access-token.service';
import { toUserResponse } from '../users/dto/user.response';
import { PasswordService } from '../users/password.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { RegisterDto } from './dto/register.dto';
import type { TokenResponse } from './dto/token.response';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly accessTokens: AccessTokenService,
  ) {}

  async register(input: RegisterDto): Promise<TokenResponse> {
    const user = await this.users.create(input);
    return this.issueTokens(user);
  }

  /**
   * An unknown email and a wrong password answer alike, in body and in time: the
   * unknown email is checked against a dummy hash of the same cost.
   */
  async validateCredentials(email: string, password: string): Promise<User> {
    const user = await this.users.findByEmail(email);
    const valid = user ? await this.passwords.verify(password, user.passwordHash) : await this.passwords.verifyDummy(password);
    if (!user || !valid) throw new ApiError(401, 'invalid_credentials', 'Invalid email or password');
    return user;
  }

  async issueTokens(user: User): Promise<TokenResponse> {
    return {
      accessToken: await this.accessTokens.sign(user),
      tokenType: 'Bearer',
      expiresIn: this.accessTokens.lifetimeSeconds,
      user: toUserResponse(user),
    };
  }
}
