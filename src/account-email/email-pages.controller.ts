import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth';
import { LINK_PATHS } from '../mail/mail-templates';
import { ASSETS, PAGE_HEADERS, PAGES, type PageName } from './email-pages';

const page = (name: PageName) => PAGES.find((candidate) => candidate.name === name)!.html;

/**
 * The pages of mailed links (email-pages.ts), for a team without a front end: the default
 * APP_URL is this service, so its links land here. Outside the API document. The headers
 * set here replace helmet's defaults (set earlier, on every request) for these routes only:
 * a CSP that allows this origin's script, style and API and nothing else, no Referer (the
 * address held the token), and no caching of a page that was opened with a token.
 */
@ApiExcludeController()
@Public()
@Controller()
export class EmailPagesController {
  @Get(LINK_PATHS.verify_email)
  verifyEmail(@Res() reply: FastifyReply): void {
    sendPage(reply, page('verify_email'));
  }

  @Get(LINK_PATHS.reset_password)
  resetPassword(@Res() reply: FastifyReply): void {
    sendPage(reply, page('reset_password'));
  }

  @Get(LINK_PATHS.confirm_email_change)
  confirmEmailChange(@Res() reply: FastifyReply): void {
    sendPage(reply, page('confirm_email_change'));
  }

  @Get(ASSETS.script.path)
  script(@Res() reply: FastifyReply): void {
    sendAsset(reply, ASSETS.script);
  }

  @Get(ASSETS.style.path)
  style(@Res() reply: FastifyReply): void {
    sendAsset(reply, ASSETS.style);
  }
}

function sendPage(reply: FastifyReply, html: string): void {
  void reply.headers({ ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' }).send(html);
}

/** An asset's path names its content's hash: a new version has a new path, so it may be kept for good. */
function sendAsset(reply: FastifyReply, asset: { type: string; body: string }): void {
  void reply
    .headers({ ...PAGE_HEADERS, 'cache-control': 'public, max-age=31536000, immutable', 'content-type': asset.type })
    .send(asset.body);
}
