import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** A message the test server accepted, as the service sent it. */
export interface ReceivedMail {
  /** SMTP envelope: MAIL FROM and RCPT TO. */
  envelope: { from: string; to: string[] };
  /** The message, parsed by mailparser (headers, `text`, `html`). */
  parsed: ParsedMail;
  raw: Buffer;
  /** The name the client gave in EHLO (nodemailer's `name`, `?name=…` in SMTP_URL): which instance sent it. */
  clientName: string;
  /** True when the session was upgraded with STARTTLS (or was TLS from the start). */
  secure: boolean;
}

/** The server's answer to one message: accept it, or refuse it with an SMTP reply. */
export type Verdict = { accept: true } | { code: number; message: string };

export interface TestSmtpServerOptions {
  /** Offer STARTTLS, with smtp-server's built-in self-signed certificate. Off by default: a plain server. */
  starttls?: boolean;
}

/**
 * A real SMTP server (npm `smtp-server`) on a free port of 127.0.0.1, for end-to-end tests
 * of mail: it collects what it accepts, parsed with `mailparser`, can refuse or delay
 * messages (`verdict`), and can be stopped and started again on the same port (an outage).
 *
 *   const smtp = await TestSmtpServer.start();
 *   const app = await startApp({ SMTP_URL: smtp.url });
 *   …
 *   const [mail] = await smtp.waitFor(1, (m) => m.envelope.to.includes(email));
 */
export class TestSmtpServer {
  /** Messages accepted, in order of arrival. */
  readonly received: ReceivedMail[] = [];
  /** Messages answered with an error by `verdict`. */
  refused = 0;
  /** Decides each message's answer, after it is parsed; may wait (a slow server). Default: accept. */
  verdict: (mail: ReceivedMail) => Verdict | Promise<Verdict> = () => ({ accept: true });

  private server?: SMTPServer;
  private boundPort = 0;

  private constructor(private readonly options: TestSmtpServerOptions) {}

  /** Starts on a free port. */
  static async start(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
    const instance = new TestSmtpServer(options);
    await instance.listen(0);
    return instance;
  }

  get port(): number {
    return this.boundPort;
  }

  /** `smtp://127.0.0.1:PORT`: SMTP_URL for the service. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Stops listening and drops every open connection at once: clients see the server go down. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port, keeping what was received. */
  async restart(): Promise<void> {
    if (this.server) return;
    await this.listen(this.port);
  }

  /**
   * Waits until at least `count` accepted messages match `filter` (all by default) and
   * returns them; fails after `timeoutMs` with what did arrive.
   */
  async waitFor(count: number, filter: (mail: ReceivedMail) => boolean = () => true, timeoutMs = 30_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.received.filter(filter);
      if (matching.length >= count) return matching;
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} messages, got ${matching.length} (${this.received.length} in all, ${this.refused} refused)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Accepted messages whose envelope names this recipient. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.envelope.to.includes(address.toLowerCase()));
  }

  private async listen(port: number): Promise<void> {
    const server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: this.options.starttls ? [] : ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      // stop() is an outage: open connections are told 421 and closed without a grace period.
      closeTimeout: 50,
      onData: (stream, session, callback) => {
        this.onData(stream, session).then(
          (verdict) => callback('accept' in verdict ? null : Object.assign(new Error(verdict.message), { responseCode: verdict.code })),
          (error: Error) => callback(Object.assign(error, { responseCode: 451 })),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.boundPort = (server.server.address() as AddressInfo).port;
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<Verdict> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const mail: ReceivedMail = {
      envelope: {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()),
      },
      parsed: await simpleParser(raw),
      raw,
      clientName: session.hostNameAppearsAs,
      secure: session.secure,
    };
    const verdict = await this.verdict(mail);
    if ('accept' in verdict) this.received.push(mail);
    else this.refused += 1;
    return verdict;
  }
}
