import { Body, Controller, createParamDecorator, ExecutionContext, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { User } from '../users/user.entity';
import { AuthService } from './auth.service';
import { Public } from './decorators/public.decorator';
import { RegisterDto } from './dto/register.dto';
import type { TokenResponse } from './dto/token.response';
import { LocalAuthGuard } from './guards/local-auth.guard';

/** The user the `local` strategy authenticated (a full entity, unlike @CurrentUser's token claims). */
const LoggedInUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): User => context.switchToHttp().getRequest<{ user: User }>().user,
);

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @UseGuards(ThrottlerGuard)
  @Post('register')
  @Header('Cache-Control', 'no-store')
  register(@Body() body: RegisterDto): Promise<TokenResponse> {
    return this.auth.register(body);
  }

  /** Throttled before the credentials are checked, so failed attempts count too. */
  @Public()
  @UseGuards(ThrottlerGuard, LocalAuthGuard)
  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  login(@LoggedInUser() user: User): Promise<TokenResponse> {
    return this.auth.issueTokens(user);
  }
}
