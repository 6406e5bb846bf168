/**
 * CORS (`cors_origins`): a preflight from an allowed origin is answered 204 with the
 * Access-Control-Allow-* headers; normal answers carry the allow-origin header; an origin not
 * allowed gets no CORS headers and a 403.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpFixture } from './helpers/http-fixture.js';
import { stopAllFixtures } from './helpers/proxy-fixture.js';

afterEach(stopAllFixtures);

const APP = 'https://crm.example.com';
const OTHER = 'https://evil.example.net';

function corsHeaders(headers: Record<string, unknown>): string[] {
  return Object.keys(headers).filter((k) => k.startsWith('access-control-')).sort();
}

describe('explicit origins', () => {
  it('a preflight from an allowed origin: 204, the origin echoed, credentials allowed', async () => {
    const h = await startHttpFixture({ general: { cors_origins: `${APP}, http://localhost:3000` } });
    const r = await h.request('/rawman?Action=Ping', {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    expect(r.status).toBe(204);
    expect(r.body).toBe('');
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(r.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, Last-Event-ID');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(r.headers.vary).toBe('Origin');
  });

  it('a preflight from another origin: 403 without any CORS header', async () => {
    const h = await startHttpFixture({ general: { cors_origins: APP } });
    const r = await h.request('/rawman', { method: 'OPTIONS', headers: { Origin: OTHER, 'Access-Control-Request-Method': 'GET' } });
    expect(r.status).toBe(403);
    expect(corsHeaders(r.headers)).toEqual([]);
    expect(r.body).toBe(`Response: Error\r\nMessage: Origin ${OTHER} is not allowed (cors_origins)\r\n\r\n`);
    // On /events the refusal is JSON, as everything there.
    const sse = await h.request('/events', { method: 'OPTIONS', headers: { Origin: OTHER, 'Access-Control-Request-Method': 'GET' } });
    expect(sse.status).toBe(403);
    expect(JSON.parse(sse.body)).toEqual([{ Response: 'Error', Message: `Origin ${OTHER} is not allowed (cors_origins)` }]);
  });

  it('answers to an allowed origin carry the allow-origin header, errors included; another origin gets 403 and none', async () => {
    const h = await startHttpFixture({ general: { cors_origins: APP } });
    const ok = await h.get('/rawman?Action=Ping', { auth: 'alice', headers: { Origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    const unauth = await h.get('/rawman?Action=Ping', { headers: { Origin: APP } });
    expect(unauth.status).toBe(401);
    expect(unauth.headers['access-control-allow-origin']).toBe(APP);
    const events = await h.sse('/events', { auth: 'alice', headers: { Origin: APP } });
    expect(events.response.headers['access-control-allow-origin']).toBe(APP);

    const refused = await h.get('/rawman?Action=Ping', { auth: 'alice', headers: { Origin: OTHER } });
    expect(refused.status).toBe(403);
    expect(corsHeaders(refused.headers)).toEqual([]);
  });

  it('no Origin, or the listener\'s own: no CORS headers, served as usual', async () => {
    const h = await startHttpFixture({ general: { cors_origins: APP } });
    const plain = await h.get('/rawman?Action=Ping', { auth: 'alice' });
    expect(plain.status).toBe(200);
    expect(corsHeaders(plain.headers)).toEqual([]);
    const own = await h.get('/rawman?Action=Ping', { auth: 'alice', headers: { Origin: `http://${h.host}:${h.port}` } });
    expect(own.status).toBe(200);
    expect(corsHeaders(own.headers)).toEqual([]);
  });

  it('without cors_origins every cross-origin request is refused', async () => {
    const h = await startHttpFixture();
    const r = await h.get('/rawman?Action=Ping', { auth: 'alice', headers: { Origin: APP } });
    expect(r.status).toBe(403);
    const pre = await h.request('/rawman', { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'GET' } });
    expect(pre.status).toBe(403);
  });
});

describe('cors_origins = *', () => {
  it('any origin gets Access-Control-Allow-Origin: * and no credentials', async () => {
    const h = await startHttpFixture({ general: { cors_origins: '*' } });
    const pre = await h.request('/rawman', { method: 'OPTIONS', headers: { Origin: OTHER, 'Access-Control-Request-Method': 'GET' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const r = await h.get('/rawman?Action=Ping', { auth: 'alice', headers: { Origin: OTHER } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('OPTIONS without a preflight is answered 204 with Allow', async () => {
    const h = await startHttpFixture({ general: { cors_origins: '*' } });
    const r = await h.request('/rawman', { method: 'OPTIONS' });
    expect(r.status).toBe(204);
    expect(r.headers.allow).toBe('GET, POST, OPTIONS');
    expect(corsHeaders(r.headers)).toEqual([]);
  });
});
