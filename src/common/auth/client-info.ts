/** Who asked: kept with each session, shown in the session list, and written with security events. */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
  /** The request's id (X-Request-Id), on the log lines about it. */
  requestId?: string;
}
