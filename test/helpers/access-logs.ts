/**
 * Helpers for the access-control integration tests: a scripted PBX that answers every action
 * with `Response: Success` (so a test sees exactly what amiplex forwarded), and readers of the
 * JSON lines amiplex logged (`fx.logs`): audit lines, refusals.
 */
import { header } from './ami-test-client.js';
import type { ScriptedPbxOptions } from './proxy-fixture.js';

/** A scripted PBX that answers every action `Response: Success` / `Message: ok` with its ActionID. */
export const ECHO_PBX: { scripted: ScriptedPbxOptions } = {
  scripted: {
    respond: (a) => {
      const id = header(a, 'ActionID');
      a.session.send([['Response', 'Success'], ...(id === undefined ? [] : [['ActionID', id] as const]), ['Message', 'ok']]);
    },
  },
};

export type LogRecord = Record<string, unknown> & { msg: string };

/** Every JSON line logged so far, parsed. */
export function logRecords(logs: readonly string[]): LogRecord[] {
  return logs.flatMap((chunk) => chunk.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogRecord));
}

/** The audit lines (`"msg":"action"`), optionally only those of one action name. */
export function auditLines(logs: readonly string[], action?: string): LogRecord[] {
  return logRecords(logs).filter((r) => r.msg === 'action' && r.audit !== undefined && (action === undefined || r.action === action));
}

/** The `action refused` lines, optionally only those of one action name. */
export function refusedLines(logs: readonly string[], action?: string): LogRecord[] {
  return logRecords(logs).filter((r) => r.msg === 'action refused' && (action === undefined || r.action === action));
}
