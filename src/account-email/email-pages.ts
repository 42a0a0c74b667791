import { createHash } from 'node:crypto';
import { LINK_PATHS } from '../mail/mail-templates';

/**
 * The three pages that mailed links open when APP_URL is the service itself: plain HTML,
 * one stylesheet and one script, all from this origin, nothing else. The script reads the
 * token from the address, takes it out of the address bar and the history at once, and
 * posts it, with what the user typed, to this origin's API only. Each page waits for a
 * click: a mail scanner that opens links (some run scripts) must not verify an address or
 * confirm a change that nobody asked for.
 */

/** Where the page's assets are served; versioned by content, so a new release is never mixed with an old cached file. */
export const ASSET_PREFIX = '/email-pages';

/** Every header the pages and their assets carry, beside helmet's. */
export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

export type PageName = keyof typeof LINK_PATHS;

interface PageText {
  title: string;
  lead: string;
  button: string;
}

const TEXT: Record<PageName, PageText> = {
  verify_email: {
    title: 'Verify your email address',
    lead: 'Confirm that this address belongs to your account.',
    button: 'Verify my email address',
  },
  reset_password: {
    title: 'Choose a new password',
    lead: 'Type the new password of your account. Every device signed in to it will be signed out.',
    button: 'Set the new password',
  },
  confirm_email_change: {
    title: 'Confirm your new email address',
    lead: 'Confirm that this address should become the sign-in address of your account.',
    button: 'Confirm my new email address',
  },
};

const STYLE = `
:root { color-scheme: light dark; }
body { margin: 0; padding: 24px; font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5; background: #f5f5f5; color: #111; }
main { max-width: 420px; margin: 40px auto; background: #fff; padding: 24px 28px; border-radius: 8px; box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }
h1 { font-size: 22px; margin: 0 0 12px; }
label { display: block; margin: 16px 0 4px; font-weight: 600; }
input { box-sizing: border-box; width: 100%; padding: 8px 10px; font-size: 16px; border: 1px solid #888; border-radius: 4px; }
button { margin-top: 20px; padding: 10px 16px; font-size: 16px; border: 0; border-radius: 4px; background: #1a56db; color: #fff; cursor: pointer; }
button:disabled { background: #8aa4d6; cursor: default; }
#status { margin: 16px 0 0; min-height: 1.5em; }
#status.error { color: #b00020; }
#status.done { color: #0a6b2a; }
#problems { color: #b00020; padding-left: 20px; }
[hidden] { display: none !important; }
@media (prefers-color-scheme: dark) {
  body { background: #181818; color: #eee; }
  main { background: #242424; }
  input { background: #1c1c1c; color: #eee; }
}
`.trimStart();

const SCRIPT = `
'use strict';
(function () {
  var ACTIONS = {
    verify_email: { endpoint: '/auth/email/verify', invalid: 'verification_token_invalid' },
    reset_password: { endpoint: '/auth/password/reset', invalid: 'reset_token_invalid' },
    confirm_email_change: { endpoint: '/users/me/email/confirm', invalid: 'verification_token_invalid' }
  };
  var page = document.body.getAttribute('data-page');
  var action = ACTIONS[page];
  var form = document.getElementById('form');
  var button = document.getElementById('submit');
  var status = document.getElementById('status');
  var problems = document.getElementById('problems');

  // The token leaves the address bar and the history before anything else happens.
  var token = new URLSearchParams(window.location.search).get('token');
  if (window.location.search || window.location.hash) window.history.replaceState(null, '', window.location.pathname);

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || '';
  }
  function listProblems(messages) {
    problems.textContent = '';
    messages.forEach(function (message) {
      var item = document.createElement('li');
      item.textContent = message;
      problems.appendChild(item);
    });
    problems.hidden = messages.length === 0;
  }
  function finish(text) {
    form.hidden = true;
    listProblems([]);
    say(text, 'done');
  }
  function dead(text) {
    form.hidden = true;
    listProblems([]);
    say(text, 'error');
  }

  if (!action) return;
  if (!token || !/^[A-Za-z0-9_-]{16,512}$/.test(token)) {
    dead('This link is incomplete. Open the link from the message again, or copy all of it into the address bar.');
    return;
  }
  form.hidden = false;

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = { token: token };
    if (page === 'reset_password') {
      var password = form.elements.namedItem('password').value;
      if (password !== form.elements.namedItem('confirm').value) {
        listProblems([]);
        say('The two passwords are not the same.', 'error');
        return;
      }
      body.newPassword = password;
    }
    button.disabled = true;
    say('Sending…');
    listProblems([]);
    // A path, not a URL: the token goes to this page's own origin and nowhere else.
    fetch(action.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer'
    })
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (ignored) { data = null; }
          return { status: response.status, data: data, retryAfter: response.headers.get('retry-after') };
        });
      })
      .then(function (result) {
        var code = result.data && result.data.code;
        if (result.status >= 200 && result.status < 300) {
          if (page === 'verify_email') finish('Your email address ' + result.data.email + ' is verified. You can close this page.');
          else if (page === 'reset_password') finish('Your password is changed, and every device was signed out. Sign in with the new password.');
          else finish(result.data.email + ' is now the email address of your account. Use it to sign in.');
        } else if (code === action.invalid) {
          dead('This link does not work any more: it was already used, it has expired, or a newer one replaced it. Ask for a new one.');
        } else if (code === 'email_taken') {
          dead('This address now belongs to another account, so it cannot become yours.');
        } else if (code === 'validation_failed' && page === 'reset_password') {
          var messages = result.data && result.data.message;
          say('Please choose another password:', 'error');
          listProblems(Array.isArray(messages) ? messages : [String(messages)]);
          button.disabled = false;
        } else if (result.status === 429) {
          say('Too many attempts. Try again in ' + (result.retryAfter || 'a few') + ' seconds.', 'error');
          button.disabled = false;
        } else {
          say('Something went wrong (' + result.status + '). Please try again in a moment.', 'error');
          button.disabled = false;
        }
      })
      .catch(function () {
        say('The service could not be reached. Check your connection and try again.', 'error');
        button.disabled = false;
      });
  });
})();
`.trimStart();

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function version(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 12);
}

export const ASSETS = {
  script: { path: `${ASSET_PREFIX}/${version(SCRIPT)}.js`, type: 'text/javascript; charset=utf-8', body: SCRIPT },
  style: { path: `${ASSET_PREFIX}/${version(STYLE)}.css`, type: 'text/css; charset=utf-8', body: STYLE },
} as const;

function fields(name: PageName): string {
  if (name !== 'reset_password') return '';
  return [
    '<label for="password">New password</label>',
    '<input id="password" name="password" type="password" autocomplete="new-password" required maxlength="1024">',
    '<label for="confirm">The new password again</label>',
    '<input id="confirm" name="confirm" type="password" autocomplete="new-password" required maxlength="1024">',
  ].join('\n');
}

/** The page of one kind of link. */
export function renderPage(name: PageName): string {
  const text = TEXT[name];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(text.title)}</title>`,
    `<link rel="stylesheet" href="${ASSETS.style.path}">`,
    `<script src="${ASSETS.script.path}" defer></script>`,
    '</head>',
    `<body data-page="${name}">`,
    '<main>',
    `<h1>${escapeHtml(text.title)}</h1>`,
    // "post" and no action: without the script nothing is sent anywhere, the token included.
    '<form id="form" method="post" hidden>',
    `<p>${escapeHtml(text.lead)}</p>`,
    fields(name),
    `<button id="submit" type="submit">${escapeHtml(text.button)}</button>`,
    '</form>',
    '<p id="status" role="status" aria-live="polite"></p>',
    '<ul id="problems" hidden></ul>',
    '<noscript><p>This page needs JavaScript to finish the action.</p></noscript>',
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export const PAGES: ReadonlyArray<{ name: PageName; path: string; html: string }> = (Object.keys(LINK_PATHS) as PageName[]).map(
  (name) => ({ name, path: LINK_PATHS[name], html: renderPage(name) }),
);
