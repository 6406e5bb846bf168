/**
 * HTTP credentials: the `Authorization: Basic` header and the `mansession_id` cookie (the check
 * of a secret is in credentials.ts, shared with raw AMI logins). Pure: header text in, a result out.
 */

export const SESSION_COOKIE = 'mansession_id';
export const BASIC_CHALLENGE = 'Basic realm="amiplex"';

export type BasicCredentials =
  | { readonly ok: true; readonly username: string; readonly secret: string }
  | { readonly ok: false; readonly message: string };

/**
 * The credentials of an `Authorization` header, or undefined when there is none. Username and
 * secret are byte strings (the decoded bytes, one character each), as AMI's Login values are.
 */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(\S+)\s*(\S*)\s*$/.exec(header);
  if (!m || m[1]!.toLowerCase() !== 'basic') return { ok: false, message: 'Unsupported authorization: use HTTP Basic' };
  const token = m[2]!;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return { ok: false, message: 'Malformed Basic credentials' };
  const decoded = Buffer.from(token, 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { ok: false, message: 'Malformed Basic credentials' };
  return { ok: true, username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** The value of the `mansession_id` cookie (quotes removed, as Asterisk writes it quoted), or undefined. */
export function sessionCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

/** The Set-Cookie value that gives (or refreshes) a session for `maxAgeS` seconds; `undefined` ends it. */
export function setSessionCookie(id: string | undefined, maxAgeS: number): string {
  const value = id ?? '';
  const age = id === undefined ? 0 : Math.max(1, Math.ceil(maxAgeS));
  return `${SESSION_COOKIE}="${value}"; Version=1; Max-Age=${age}; Path=/; HttpOnly; SameSite=Strict`;
}
