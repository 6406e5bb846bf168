import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigIssue, ProxyConfig } from '../src/config/index.js';
import {
  CLUSTER_SCHEMA, ConfigError, GENERAL_SCHEMA, loadConfig, parseConfig, SECTION_TYPES, SERVER_SCHEMA, USER_SCHEMA,
} from '../src/config/index.js';

const FILE = 'proxy.conf';
const FIXTURES = new URL('./fixtures/config/', import.meta.url);
const EXAMPLE = new URL('../proxy.conf.example', import.meta.url);

const SERVER = '[server pbx1]\nhost = 10.0.0.1\nusername = amiplex\nsecret = s\n';

function lines(...l: string[]): string {
  return l.join('\n') + '\n';
}

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('the configuration was accepted');
}

/** `LINE CODE: message` for each issue, the compact form the tests compare. */
function report(text: string): string[] {
  return issuesOf(text).map((i) => `${i.line} ${i.code}: ${i.message}`);
}

describe('parseConfig: defaults', () => {
  it('fills every default for a minimal file', () => {
    const cfg = parseConfig(SERVER + '[user u]\nsecret = p\n', FILE);
    expect(cfg).toEqual({
      general: {
        listen: [{ host: '127.0.0.1', port: 1234 }],
        actionTimeout: 30,
        clientBuffer: 1024 * 1024,
        clientBufferMax: 16 * 1024 * 1024,
        clientBufferTotal: 512 * 1024 * 1024,
        slowClientTimeout: 10,
        maxPendingActions: 1000,
        eventlistTimeout: 120,
        malformedRate: 1000,
        malformedTimeout: 10,
        authTimeout: 30,
        authFailDelay: 1,
        httpTimeout: 30,
        httpSessionTimeout: 60,
        httpMaxBody: 64 * 1024,
        httpMaxUrl: 8 * 1024,
        sseReplay: 1000,
        logLevel: 'info',
        tlsCert: 'certs/amiplex.pem',
        tlsKey: 'certs/amiplex.key',
        authLimit: 50,
        lockoutFailures: 5,
        lockoutUserFailures: 20,
        lockoutWindow: 60,
        lockoutTime: 300,
        audit: true,
        shutdownTimeout: 10,
      },
      servers: [{
        name: 'pbx1', host: '10.0.0.1', port: 5038, username: 'amiplex', secret: 's', authType: 'plain',
        keepalive: 15, keepaliveTimeout: 10, connectTimeout: 10, reconnectMin: 0.5, reconnectMax: 30, maxPending: 10000,
        tls: false, tlsVerify: true,
      }],
      users: [{ name: 'u', secret: 'p', servers: ['pbx1'], serverHeader: true, serverHeaderAnswers: false, status: false }],
      listeners: [],
      file: FILE,
    } satisfies ProxyConfig);
    expect('bannerVersion' in cfg.general).toBe(false);
    expect('actionTimeout' in cfg.servers[0]!).toBe(false);
  });

  it('takes every key when given, keeping the case of values', () => {
    const cfg = parseConfig(lines(
      '[general]',
      'listen = 0.0.0.0:0',
      'listen = [::1]:5039',
      'banner_version = 9.0.0-Custom',
      'action_timeout = 2.5',
      'client_buffer = 512K',
      'client_buffer_max = 2M',
      'client_buffer_total = 64M',
      'slow_client_timeout = 0.25',
      'max_pending_actions = 7',
      'authtimeout = 5',
      'auth_fail_delay = 0',
      'http = 127.0.0.1:0',
      'http = [::1]:8088',
      'http_timeout = 5',
      'http_session_timeout = 120',
      'http_max_body = 1M',
      'http_max_url = 2K',
      'cors_origins = https://crm.example.com, http://localhost:3000',
      'sse_replay = 50',
      'log_level = trace',
      '[server Main-PBX]',
      'host = PBX.Example.com',
      'port = 15038',
      'username = AmiUser',
      'secret = Se Cr;et\\;',
      'authtype = md5',
      'keepalive = 0',
      'keepalive_timeout = 3',
      'connect_timeout = 4',
      'reconnect_min = 1',
      'reconnect_max = 1',
      'action_timeout = 90',
      'max_pending = 5',
      '[user Alice]',
      'secret = ToP',
      'servers = Main-PBX',
      'server_header = OFF',
    ), FILE);
    expect(cfg.general).toEqual({
      listen: [{ host: '0.0.0.0', port: 0 }, { host: '::1', port: 5039 }],
      bannerVersion: '9.0.0-Custom',
      actionTimeout: 2.5,
      clientBuffer: 512 * 1024,
      clientBufferMax: 2 * 1024 * 1024,
      clientBufferTotal: 64 * 1024 * 1024,
      slowClientTimeout: 0.25,
      maxPendingActions: 7,
      eventlistTimeout: 120,
      malformedRate: 1000,
      malformedTimeout: 10,
      authTimeout: 5,
      authFailDelay: 0,
      http: [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 8088 }],
      httpTimeout: 5,
      httpSessionTimeout: 120,
      httpMaxBody: 1024 * 1024,
      httpMaxUrl: 2048,
      corsOrigins: ['https://crm.example.com', 'http://localhost:3000'],
      sseReplay: 50,
      logLevel: 'trace',
      tlsCert: 'certs/amiplex.pem',
      tlsKey: 'certs/amiplex.key',
      authLimit: 50,
      lockoutFailures: 5,
      lockoutUserFailures: 20,
      lockoutWindow: 60,
      lockoutTime: 300,
      audit: true,
      shutdownTimeout: 10,
    });
    expect(cfg.servers).toEqual([{
      name: 'Main-PBX', host: 'PBX.Example.com', port: 15038, username: 'AmiUser', secret: 'Se Cr',
      authType: 'md5', keepalive: 0, keepaliveTimeout: 3, connectTimeout: 4, reconnectMin: 1, reconnectMax: 1,
      actionTimeout: 90, maxPending: 5, tls: false, tlsVerify: true,
    }]);
    expect(cfg.users).toEqual([{ name: 'Alice', secret: 'ToP', servers: ['Main-PBX'], serverHeader: false, serverHeaderAnswers: false, status: false }]);
  });

  it('freezes the whole result', () => {
    const cfg = parseConfig(SERVER + '[user u]\nsecret = p\n', FILE);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.general)).toBe(true);
    expect(Object.isFrozen(cfg.general.listen)).toBe(true);
    expect(Object.isFrozen(cfg.general.listen[0])).toBe(true);
    expect(Object.isFrozen(cfg.servers)).toBe(true);
    expect(Object.isFrozen(cfg.servers[0])).toBe(true);
    expect(Object.isFrozen(cfg.users[0]!.servers)).toBe(true);
    expect(() => (cfg.users[0]!.servers as string[]).push('x')).toThrow(TypeError);
  });

  it('accepts a file without [general] or [user]', () => {
    const cfg = parseConfig(SERVER, FILE);
    expect(cfg.users).toEqual([]);
    expect(cfg.general.logLevel).toBe('info');
  });
});

describe('parseConfig: syntax', () => {
  it('handles comments, "\\;", blank lines, CRLF and blanks around keys and values', () => {
    const text = [
      '; leading comment',
      '',
      '[server pbx1]   ; trailing comment on a header',
      '   host   =   10.0.0.1   ; comment',
      'username=ami\\;user',
      'secret = a\\;b;c',
      '',
      '[user u]',
      'secret = \\;\\;',
    ].join('\r\n');
    const cfg = parseConfig(text, FILE);
    expect(cfg.servers[0]).toMatchObject({ host: '10.0.0.1', username: 'ami;user', secret: 'a;b' });
    expect(cfg.users[0]!.secret).toBe(';;');
  });

  it('reports syntax errors with their lines and goes on', () => {
    expect(report(lines(
      SERVER.trimEnd(), // lines 1-4
      'oops', // 5
      '[user', // 6
      '[]', // 7
      '#include more.conf', // 8
    ))).toEqual([
      '5 SYNTAX: expected "key = value" or a [section] header',
      '6 SYNTAX: section header has no closing "]"',
      '7 SYNTAX: empty section header "[]"',
      '8 SYNTAX: #include and other directives are not supported',
    ]);
  });
});

describe('parseConfig: every error kind, with its line', () => {
  it('a key before any section', () => {
    expect(report('listen = 127.0.0.1:1\n' + SERVER)).toEqual([
      '1 KEY_OUTSIDE_SECTION: key "listen" comes before any section header: put it under [general], [server NAME] or [user NAME]',
    ]);
  });

  it('an unknown section type, with a hint; its keys are not reported again', () => {
    expect(report(SERVER + '[sever pbx2]\nhost = x\nbogus = 1\n[General]\n')).toEqual([
      '5 UNKNOWN_SECTION: unknown section type "sever" (did you mean "server"?): expected [general], [server NAME] or [user NAME]',
      '8 UNKNOWN_SECTION: unknown section type "General" (did you mean "general"?): expected [general], [server NAME] or [user NAME]',
    ]);
  });

  it('bad section names', () => {
    expect(report(SERVER + lines('[server]', '[user a b]', '[user a/b]', '[general main]'))).toEqual([
      '5 BAD_SECTION_NAME: [server] needs a name: [server NAME]',
      '5 MISSING_KEY: [server] is missing required key "host"',
      '5 MISSING_KEY: [server] is missing required key "username"',
      '5 MISSING_KEY: [server] is missing required key "secret"',
      '6 BAD_SECTION_NAME: bad name in [user a b]: a name cannot contain blanks',
      '6 MISSING_KEY: [user] is missing required key "secret" or "secret_hash"',
      '7 BAD_SECTION_NAME: bad name "a/b" in [user]: use letters, digits, "_", "." and "-"',
      '7 MISSING_KEY: [user] is missing required key "secret" or "secret_hash"',
      '8 BAD_SECTION_NAME: [general] takes no name',
    ]);
  });

  it('keys of a section with a bad header are still checked', () => {
    expect(report(SERVER + lines('[user a b]', 'secret = x', 'port = 1'))).toEqual([
      '5 BAD_SECTION_NAME: bad name in [user a b]: a name cannot contain blanks',
      '7 UNKNOWN_KEY: unknown key "port" in [user] (it belongs in [server NAME])',
    ]);
  });

  it('duplicate sections, names compared without case', () => {
    expect(report(lines(
      '[general]', // 1
      SERVER.trimEnd(), // 2-5
      '[server pbx1]', // 6
      'host = h', // 7
      '[server PBX1]', // 8
      '[user u]', // 9
      'secret = a', // 10
      '[user u]', // 11
      'secret = b', // 12
      '[general]', // 13
    ))).toEqual([
      '6 DUPLICATE_SECTION: duplicate [server pbx1]: first given at line 2',
      '6 MISSING_KEY: [server pbx1] is missing required key "username"',
      '6 MISSING_KEY: [server pbx1] is missing required key "secret"',
      '8 DUPLICATE_SECTION: duplicate [server PBX1]: first given at line 2 [server pbx1] (names are compared without case)',
      '8 MISSING_KEY: [server PBX1] is missing required key "host"',
      '8 MISSING_KEY: [server PBX1] is missing required key "username"',
      '8 MISSING_KEY: [server PBX1] is missing required key "secret"',
      '11 DUPLICATE_SECTION: duplicate [user u]: first given at line 9',
      '13 DUPLICATE_SECTION: [general] may appear only once: first given at line 1',
    ]);
  });

  it('unknown keys, with a hint when one is close or belongs elsewhere', () => {
    expect(report(lines(
      '[general]', // 1
      'Log_Level = info', // 2
      'frobnicate = 1', // 3
      'host = x', // 4
      '[server pbx1]', // 5
      'hots = 10.0.0.1', // 6
      'host = 10.0.0.1', // 7
      'username = a', // 8
      'secret = s', // 9
      'listen = 127.0.0.1:1', // 10
      'server_header = yes', // 11
    ))).toEqual([
      '2 UNKNOWN_KEY: unknown key "Log_Level" in [general] (did you mean "log_level"?)',
      '3 UNKNOWN_KEY: unknown key "frobnicate" in [general]',
      '4 UNKNOWN_KEY: unknown key "host" in [general] (it belongs in [server NAME])',
      '6 UNKNOWN_KEY: unknown key "hots" in [server pbx1] (did you mean "host"?)',
      '10 UNKNOWN_KEY: unknown key "listen" in [server pbx1] (it belongs in [general] or [listener NAME])',
      '11 UNKNOWN_KEY: unknown key "server_header" in [server pbx1] (it belongs in [user NAME])',
    ]);
  });

  it('bad values, one per kind; a secret is never echoed', () => {
    expect(report(lines(
      '[general]', // 1
      'listen = localhost', // 2
      'banner_version =', // 3
      'action_timeout = 30s', // 4
      'client_buffer = 1MB', // 5
      'max_pending_actions = 0', // 6
      'log_level = verbose', // 7
      '[server pbx1]', // 8
      'host = 10.0.0.1:5038', // 9
      'port = 0', // 10
      'username = a', // 11
      'secret =', // 12
      'authtype = MD5', // 13
      'keepalive = -1', // 14
      '[user u]', // 15
      'secret = p', // 16
      'server_header = maybe', // 17
      'servers = pbx1,,pbx1', // 18
    ))).toEqual([
      '2 BAD_VALUE: bad value "localhost" for listen: expected HOST:PORT, such as 127.0.0.1:1234',
      '3 BAD_VALUE: bad value "" for banner_version: expected a non-empty text',
      '4 BAD_VALUE: bad value "30s" for action_timeout: expected a number of seconds greater than 0 up to 2147483, such as 30 or 0.5',
      '5 BAD_VALUE: bad value "1MB" for client_buffer: expected a size in bytes from 1K to 1G, such as 65536, 512K or 4M',
      '6 BAD_VALUE: bad value "0" for max_pending_actions: expected an integer from 1 to 1000000',
      '7 BAD_VALUE: bad value "verbose" for log_level: expected one of trace, debug, info, warn, error, fatal, silent',
      '9 BAD_VALUE: bad value "10.0.0.1:5038" for host: expected a host name or IP address without a port',
      '10 BAD_VALUE: bad value "0" for port: expected an integer from 1 to 65535',
      '12 BAD_VALUE: bad value for secret: expected a non-empty text',
      '13 BAD_VALUE: bad value "MD5" for authtype: expected one of plain, md5 (case matters: "md5")',
      '14 BAD_VALUE: bad value "-1" for keepalive: expected a number of seconds from 0 up to 2147483, such as 30 or 0.5',
      '17 BAD_VALUE: bad value "maybe" for server_header: expected yes or no (or true/false, on/off, 1/0)',
      '18 BAD_VALUE: bad value "pbx1,,pbx1" for servers: empty item in list (check the commas)',
    ]);
  });

  it('a required key that is missing is reported at the section header', () => {
    expect(report(lines('; comment', '[server pbx1]', 'host = h', '[user u]', 'servers = pbx1'))).toEqual([
      '2 MISSING_KEY: [server pbx1] is missing required key "username"',
      '2 MISSING_KEY: [server pbx1] is missing required key "secret"',
      '4 MISSING_KEY: [user u] is missing required key "secret" or "secret_hash"',
    ]);
  });

  it('a key given twice is reported at the second occurrence, even when its first value was bad', () => {
    expect(report(SERVER + lines('port = x', 'port = 5039', 'secret = t', '[general]', 'log_level = info', 'log_level = info'))).toEqual([
      '5 BAD_VALUE: bad value "x" for port: expected an integer from 1 to 65535',
      '6 REPEATED_KEY: "port" given twice in [server pbx1] (first at line 5); it takes one value',
      '7 REPEATED_KEY: "secret" given twice in [server pbx1] (first at line 4); it takes one value',
      '10 REPEATED_KEY: "log_level" given twice in [general] (first at line 9); it takes one value',
    ]);
  });

  it('no [server] at all is an issue about the whole file', () => {
    const issues = issuesOf('[general]\nlog_level = warn\n[user u]\nsecret = p\n');
    expect(issues).toEqual([
      { file: FILE, line: 0, code: 'NO_SERVER', message: 'no [server NAME] section: amiplex needs at least one PBX' },
    ]);
    expect(issuesOf('')[0]!.code).toBe('NO_SERVER');
  });

  it('a [server] whose header is wrong does not also count as no server', () => {
    expect(report('[server]\nhost = h\nusername = u\nsecret = s\n')).toEqual([
      '1 BAD_SECTION_NAME: [server] needs a name: [server NAME]',
    ]);
  });
});

describe('parseConfig: cross-checks', () => {
  it('reconnect_min must not exceed reconnect_max', () => {
    expect(report(SERVER + 'reconnect_max = 2\nreconnect_min = 5\n')).toEqual([
      '6 CONFLICT: reconnect_min (5) is greater than reconnect_max (2) in [server pbx1]',
    ]);
    // Against a default: blamed on the key that was given.
    expect(report(SERVER + 'reconnect_min = 31\n')).toEqual([
      '5 CONFLICT: reconnect_min (31) is greater than reconnect_max (30) in [server pbx1]',
    ]);
    expect(parseConfig(SERVER + 'reconnect_min = 30\n', FILE).servers[0]!.reconnectMin).toBe(30);
  });

  it('client_buffer must not exceed client_buffer_max', () => {
    expect(report(lines('[general]', 'client_buffer_max = 1M', 'client_buffer = 2M') + SERVER)).toEqual([
      '3 CONFLICT: client_buffer (2097152) is greater than client_buffer_max (1048576) in [general]',
    ]);
    expect(report(lines('[general]', 'client_buffer = 32M') + SERVER)).toEqual([
      '2 CONFLICT: client_buffer (33554432) is greater than client_buffer_max (16777216) in [general]',
    ]);
  });

  it('a listen address given twice; port 0 may repeat', () => {
    expect(report(lines(
      '[general]',
      'listen = 127.0.0.1:1234',
      'listen = [::1]:1234',
      'listen = [::1]:1234',
      'listen = 127.0.0.1:0',
      'listen = 127.0.0.1:0',
      'listen = LocalHost:1',
      'listen = localhost:1',
    ) + SERVER)).toEqual([
      '4 DUPLICATE_LISTEN: listen address [::1]:1234 given twice (first at line 3)',
      '8 DUPLICATE_LISTEN: listen address localhost:1 given twice (first at line 7)',
    ]);
  });

  it('IPv6 and several listeners, in file order', () => {
    const cfg = parseConfig(lines('[general]', 'listen = [::1]:0', 'listen = [::]:5038', 'listen = 0.0.0.0:5038') + SERVER, FILE);
    expect(cfg.general.listen).toEqual([
      { host: '::1', port: 0 }, { host: '::', port: 5038 }, { host: '0.0.0.0', port: 5038 },
    ]);
  });
});

describe('parseConfig: user servers', () => {
  const TWO = SERVER + '[server pbx2]\nhost = 10.0.0.2\nusername = a\nsecret = s\n';

  it('default to every server in file order; the first [server] leads', () => {
    const cfg = parseConfig(TWO + '[user u]\nsecret = p\n', FILE);
    expect(cfg.servers.map((s) => s.name)).toEqual(['pbx1', 'pbx2']);
    expect(cfg.users[0]!.servers).toEqual(['pbx1', 'pbx2']);
  });

  it('keep the order the user gives: its first is its default', () => {
    const cfg = parseConfig(TWO + '[user u]\nsecret = p\nservers = pbx2, pbx1\n[user v]\nsecret = p\nservers = pbx2\n', FILE);
    expect(cfg.users.map((u) => u.servers)).toEqual([['pbx2', 'pbx1'], ['pbx2']]);
  });

  it('an unknown server is an error on the servers line, names matched exactly', () => {
    expect(report(TWO + lines('[user u]', 'secret = p', 'servers = pbx2, PBX1, nope'))).toEqual([
      '11 UNKNOWN_SERVER: [user u] lists unknown server "PBX1" (did you mean "pbx1"?); defined: pbx1, pbx2',
      '11 UNKNOWN_SERVER: [user u] lists unknown server "nope"; defined: pbx1, pbx2',
    ]);
  });

  it('a server whose section has errors still counts as defined', () => {
    expect(report(lines('[server pbx1]', 'host = h', '[user u]', 'secret = p', 'servers = pbx1'))).toEqual([
      '1 MISSING_KEY: [server pbx1] is missing required key "username"',
      '1 MISSING_KEY: [server pbx1] is missing required key "secret"',
    ]);
  });
});

describe('ConfigError', () => {
  it('reports every issue of a file at once, sorted, one FILE:LINE: message per line', () => {
    let error: unknown;
    try {
      loadConfig(new URL('broken.conf', FIXTURES).pathname);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.name).toBe('ConfigError');
    expect(e.code).toBe('ERR_AMIPLEX_CONFIG');
    const path = new URL('broken.conf', FIXTURES).pathname;
    expect(e.message).toBe([
      `${path}:2: key "log_level" comes before any section header: put it under [general], [server NAME] or [user NAME]`,
      `${path}:4: unknown key "lisen" in [general] (did you mean "listen"?)`,
      `${path}:5: bad value "soon" for action_timeout: expected a number of seconds greater than 0 up to 2147483, such as 30 or 0.5`,
      `${path}:6: [server pbx1] is missing required key "secret"`,
      `${path}:9: "port" given twice in [server pbx1] (first at line 8); it takes one value`,
      `${path}:13: [user ops] lists unknown server "pbx9" (did you mean "pbx1"?); defined: pbx1`,
    ].join('\n'));
    expect(e.issues.map((i) => i.line)).toEqual([2, 4, 5, 6, 9, 13]);
  });

  it('puts whole-file issues last, without a line', () => {
    try {
      parseConfig('[general]\nbogus = 1\n', 'x.conf');
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).message).toBe(
        'x.conf:2: unknown key "bogus" in [general]\nx.conf: no [server NAME] section: amiplex needs at least one PBX',
      );
    }
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amiplex-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file; config.file is the path given', () => {
    const path = new URL('minimal.conf', FIXTURES).pathname;
    const cfg = loadConfig(path);
    expect(cfg.file).toBe(path);
    expect(cfg.users[0]).toEqual({ name: 'admin', secret: 'Admin', servers: ['pbx'], serverHeader: true, serverHeaderAnswers: false, status: false });
  });

  it('a missing file is a ConfigError', () => {
    const path = join(dir, 'absent.conf');
    expect(() => loadConfig(path)).toThrow(ConfigError);
    try {
      loadConfig(path);
    } catch (err) {
      const [issue] = (err as ConfigError).issues;
      expect(issue).toMatchObject({ file: path, line: 0, code: 'READ_FAILED' });
      expect(issue!.message).toMatch(/^cannot read the file: ENOENT/);
    }
  });

  it('a directory is a ConfigError', () => {
    expect(() => loadConfig(dir)).toThrow(ConfigError);
  });

  it('text that is not UTF-8 is refused with the line of the first bad byte', () => {
    const path = join(dir, 'latin1.conf');
    writeFileSync(path, Buffer.concat([Buffer.from(SERVER + '[user u]\nsecret = caf'), Buffer.from([0xe9, 0x0a])]));
    try {
      loadConfig(path);
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([{ file: path, line: 6, code: 'READ_FAILED', message: 'not valid UTF-8 text' }]);
    }
  });

  it('keeps UTF-8 values as JavaScript strings', () => {
    const path = join(dir, 'utf8.conf');
    writeFileSync(path, '\ufeff' + SERVER + '[user u]\nsecret = café\n');
    expect(loadConfig(path).users[0]!.secret).toBe('café');
  });
});

describe('schema tables', () => {
  const types = Object.entries(SECTION_TYPES);

  it('every section type is listed and every table is wired to it', () => {
    expect(Object.keys(SECTION_TYPES)).toEqual(['general', 'server', 'user', 'listener', 'cluster']);
    expect(SECTION_TYPES.general.keys.map((k) => k.field)).toEqual(Object.keys(GENERAL_SCHEMA));
    expect(SECTION_TYPES.server.keys.map((k) => k.field)).toEqual(Object.keys(SERVER_SCHEMA));
    expect(SECTION_TYPES.user.keys.map((k) => k.field)).toEqual(Object.keys(USER_SCHEMA));
    expect(SECTION_TYPES.cluster.keys.map((k) => k.field)).toEqual(Object.keys(CLUSTER_SCHEMA));
  });

  it.each(types)('[%s]: keys are unique lower-case names, each with a doc line', (_, def) => {
    const keys = def.keys.map((k) => k.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of def.keys) {
      expect(k.key).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(k.doc.length).toBeGreaterThan(10);
      expect(k.doc).not.toContain('\n');
    }
  });

  it.each(types)('[%s]: defaults parse with their own kind; required keys have none', (_, def) => {
    for (const k of def.keys) {
      if (k.default !== undefined) expect(k.kind.parse(k.default), k.key).toMatchObject({ ok: true });
      if (k.required) expect(k.default ?? k.defaultDoc, k.key).toBeUndefined();
      if (!k.required && k.default === undefined) expect(k.defaultDoc, `${k.key} needs a defaultDoc`).toBeDefined();
    }
  });

  it('tables are frozen', () => {
    expect(Object.isFrozen(SERVER_SCHEMA)).toBe(true);
    expect(Object.isFrozen(SERVER_SCHEMA.port)).toBe(true);
    expect(Object.isFrozen(SECTION_TYPES.user.keys)).toBe(true);
  });
});

describe('proxy.conf.example', () => {
  const text = readFileSync(EXAMPLE, 'utf8');

  it('parses without errors', () => {
    const cfg = parseConfig(text, 'proxy.conf.example');
    expect(cfg.servers.map((s) => s.name)).toEqual(['pbx1', 'pbx2']);
    expect(cfg.users.map((u) => u.name)).toHaveLength(2);
    expect(cfg.servers[1]!.secret).toBe('also;change-me');
  });

  /** The text of the first section of a type, header included (an optional section may be shown commented out, `;[cluster]`). */
  function firstSection(type: string): string {
    const parts = text.split(/^(?=;?\[)/m).map((p) => p.replace(/^;/, ''));
    const part = parts.find((p) => p.startsWith(`[${type}]`) || p.startsWith(`[${type} `));
    if (part === undefined) throw new Error(`no [${type}] in the example`);
    return part;
  }

  it.each(Object.entries(SECTION_TYPES))('documents every key of [%s], with its default', (type, def) => {
    const section = firstSection(type);
    for (const k of def.keys) {
      const setting = new RegExp(`^;?${k.key} = (.*)$`, 'm');
      expect(section, `${k.key} is not shown in the first [${type}]`).toMatch(setting);
      if (k.default !== undefined) {
        const shown = new RegExp(`^;${k.key} = ${k.default.replace(/[.[\]]/g, '\\$&')}$`, 'm');
        const inDoc = section.includes(`Default: ${k.default}`);
        expect(shown.test(section) || inDoc, `the default of ${k.key} (${k.default}) is not shown`).toBe(true);
      }
    }
  });
});

describe('[listener] sections and formats', () => {
  it('reads a listener with its format, and a user format', () => {
    const cfg = parseConfig(lines('[listener mon]', 'listen = 127.0.0.1:0', 'format = json', '[user u]', 'secret = p', 'format = xml') + SERVER, FILE);
    expect(cfg.listeners).toEqual([{ name: 'mon', listen: { host: '127.0.0.1', port: 0 }, input: 'standard', format: 'json', autofilter: 'off', tls: false, proxyKeyPlain: false }]);
    expect(cfg.users[0]!.format).toBe('xml');
  });

  it('defaults a listener to the standard format and requires its address', () => {
    expect(parseConfig(lines('[listener a]', 'listen = 127.0.0.1:0') + SERVER, FILE).listeners[0]!.format).toBe('standard');
    expect(report(lines('[listener a]', 'format = csv') + SERVER)).toEqual(['1 MISSING_KEY: [listener a] is missing required key "listen"']);
  });

  it('rejects an unknown format, and an address given both in [general] and a [listener]', () => {
    expect(report(lines('[general]', 'listen = 127.0.0.1:5000', '[listener b]', 'listen = 127.0.0.1:5000', 'format = yaml') + SERVER)).toEqual([
      '4 DUPLICATE_LISTEN: listen address 127.0.0.1:5000 given twice (first at line 2)',
      '5 BAD_VALUE: bad value "yaml" for format: expected one of standard, xml, csv, json, astmanproxy-xml, astmanproxy-csv',
    ]);
  });
});

describe('listen addresses across listener kinds', () => {
  it('refuses an address given to two listeners, whatever their kind (listen, listen_tls, http, https, [listener])', () => {
    const text = '[general]\nlisten = 127.0.0.1:5038\nlisten_tls = 127.0.0.1:5038\nhttp = 127.0.0.1:8088\nhttps = 127.0.0.1:8088\n[listener l]\nlisten = 127.0.0.1:8088\n[server pbx]\nhost = 127.0.0.1\nusername = u\nsecret = s\n';
    let message = '';
    try {
      parseConfig(text, 'dup.conf');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('dup.conf:3: listen address 127.0.0.1:5038 given twice (first at line 2)');
    expect(message).toContain('dup.conf:5: listen address 127.0.0.1:8088 given twice (first at line 4)');
    expect(message).toContain('dup.conf:7: listen address 127.0.0.1:8088 given twice (first at line 4)');
  });
});
