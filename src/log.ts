/**
 * Structured logging (pino). Modules take a Logger and add their own context with `child()`.
 *
 * Two shapes of the same records: JSON lines (the default, for log collectors and tests) and,
 * when the destination is a terminal, pino-pretty's one line per event (colours, local time),
 * for a person watching. `AMIPLEX_LOG_FORMAT=json|pretty` forces one either way. The pretty
 * form is formatted synchronously in this process, so nothing is lost when amiplex exits.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'pretty';

/** The environment variable that forces a log format. */
export const LOG_FORMAT_ENV = 'AMIPLEX_LOG_FORMAT';
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * The format to log in: the env variable's value when it is set (not empty), else pretty on a
 * terminal and JSON lines anywhere else. Throws on a value that is neither json nor pretty.
 */
export function chooseLogFormat(envValue: string | undefined, isTTY: boolean): LogFormat {
  const asked = envValue?.trim().toLowerCase();
  if (asked === undefined || asked === '') return isTTY ? 'pretty' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(asked)) return asked as LogFormat;
  throw new Error(`${LOG_FORMAT_ENV} must be json or pretty, not ${JSON.stringify(envValue)}`);
}

/**
 * A logger writing to `destination` (stdout when absent) in `format` (by default chosen by
 * chooseLogFormat from the environment and whether the destination is a terminal).
 */
export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream, format?: LogFormat): Logger {
  const options = { level, base: { name: 'amiplex' }, timestamp: pino.stdTimeFunctions.isoTime };
  const out = destination ?? process.stdout;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const chosen = format ?? chooseLogFormat(process.env[LOG_FORMAT_ENV], tty);
  if (chosen === 'pretty') return pino(options, prettyDestination(out, tty));
  return destination ? pino(options, destination) : pino(options);
}

/** A pino destination that turns each JSON line into one pretty line (coloured on a terminal). */
function prettyDestination(out: NodeJS.WritableStream, colorize: boolean): DestinationStream {
  const pretty = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    ignore: 'name',
    // Fields named err or error stay on the event's line instead of a block of their own.
    errorLikeObjectKeys: [],
  });
  return { write: (line: string) => void out.write(pretty(line)) };
}

/** A logger that writes nothing: for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
