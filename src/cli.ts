#!/usr/bin/env node
/**
 * amiplex's command line: parse flags, load the config, start the daemon. No proxy logic here.
 *
 *   amiplex [--config FILE] [--log-level L]     run the proxy (demo mode without a config)
 *   amiplex --check --config FILE               validate a config and exit
 *   amiplex simulate --listen HOST:PORT ...     run the simulated PBX alone
 *   amiplex hash-secret < secret.txt            print a secret_hash line for proxy.conf
 *   amiplex gen-cert [--config FILE] [--force]  write a self-signed certificate to tls_cert / tls_key
 *   amiplex import-astmanproxy CONF [USERS]     print the proxy.conf equivalent to an astmanproxy's files
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { chosenConfigFile, ConfigError, formatIssue, loadConfig, type ProxyConfig } from './config/index.js';
import { startProxy, type RunningProxy } from './daemon.js';
import { DEMO_RATE, startDemo } from './demo.js';
import { genCertCommand } from './gen-cert-command.js';
import { hashSecretCommand } from './hash-secret-command.js';
import { importAstmanproxyCommand } from './import-astmanproxy-command.js';
import { checkTlsFiles } from './tls/tls-check.js';
import { chooseLogFormat, createLogger, LOG_FORMAT_ENV, type Logger, type LogLevel } from './log.js';
import { DEFAULT_USERS, SimulatedPbx, type SimUser } from './sim/index.js';

const LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function hostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:5038 or [::1]:5038');
  return { host: (m[1] ?? m[2])!, port };
}

function simUsers(value: string): SimUser[] {
  return value.split(',').map((pair) => {
    const [username, secret, ...rest] = pair.trim().split(':');
    if (!username || secret === undefined || rest.length > 0) {
      throw new InvalidArgumentError('expected USER:SECRET[,USER:SECRET…], e.g. admin:admin,monitor:monitor');
    }
    return { username, secret };
  });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}

/**
 * Stops on SIGINT/SIGTERM, gracefully, within `deadlineMs` (then exits 1 anyway); a second
 * signal exits at once. The deadline is read when the signal comes: a reload may have changed it.
 */
function stopOnSignals(stop: () => Promise<void>, deadline: () => number = () => 10_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`amiplex: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`\namiplex: ${signal}, stopping…\n`);
    const deadlineMs = deadline();
    setTimeout(() => {
      process.stderr.write(`amiplex: not stopped within ${deadlineMs / 1000} s (shutdown_timeout), exiting anyway\n`);
      process.exit(1);
    }, deadlineMs).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`amiplex: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function fail(message: string): never {
  process.stderr.write(`amiplex: ${message}\n`);
  process.exit(1);
}

async function runProxy(opts: { config?: string; check?: boolean; logLevel?: LogLevel; demoRate?: number }): Promise<void> {
  const file = chosenConfigFile(opts.config);
  if (file && opts.demoRate !== undefined) fail(`--demo-rate is for demo mode, which runs only without a config (${file} is one)`);
  if (opts.check) {
    if (!file) fail('--check needs --config FILE (or a ./proxy.conf)');
    try {
      const config = loadConfig(file);
      const tlsFiles = checkTlsFiles(config);
      for (const error of tlsFiles.errors) process.stderr.write(`${file}: ${error}\n`);
      if (tlsFiles.errors.length > 0) process.exit(1);
      for (const note of tlsFiles.notes) process.stdout.write(`${file}: note: ${note}\n`);
      process.stdout.write(
        `${file}: OK (${config.servers.length} server(s), ${config.users.length} user(s), ${config.general.listen.length} listener(s))\n`,
      );
      process.exit(0);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
  }
  try {
    // A bad AMIPLEX_LOG_FORMAT stops amiplex before anything starts, with the reason.
    chooseLogFormat(process.env[LOG_FORMAT_ENV], false);
  } catch (err) {
    fail((err as Error).message);
  }
  if (!file) {
    const demo = await startDemo({ logLevel: opts.logLevel ?? 'warn', rate: opts.demoRate }).catch((err: unknown) => fail(String(err instanceof Error ? err.message : err)));
    stopOnSignals(() => demo.stop());
    return;
  }
  let config: ProxyConfig;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) fail(`${err.message}`);
    throw err;
  }
  const log = createLogger(opts.logLevel ?? config.general.logLevel, process.stderr);
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(config, { log });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  stopOnSignals(() => proxy.stop(), () => proxy.hub.config.general.shutdownTimeout * 1000);
  reloadOnHangup(file, proxy, log);
}

/** SIGHUP: reload proxy.conf; a file with errors is refused (every error logged) and the running config stays. */
function reloadOnHangup(file: string, proxy: RunningProxy, log: Logger): void {
  let busy = false;
  process.on('SIGHUP', () => {
    if (busy) {
      log.warn('SIGHUP while a reload is running: ignored');
      return;
    }
    busy = true;
    log.info({ file }, 'SIGHUP: reloading configuration');
    let next: ProxyConfig;
    try {
      next = loadConfig(file);
    } catch (err) {
      busy = false;
      if (err instanceof ConfigError) {
        for (const issue of err.issues) log.error({ file: issue.file, line: issue.line, code: issue.code }, formatIssue(issue));
        log.error({ file, errors: err.issues.length }, 'configuration NOT reloaded: it has errors; the running configuration stays');
      } else {
        log.error({ file, err: String(err) }, 'configuration NOT reloaded');
      }
      return;
    }
    proxy.reload(next).then(
      () => (busy = false),
      (err: unknown) => {
        busy = false;
        log.error({ err: String(err) }, 'reload failed');
      },
    );
  });
}

async function runSimulator(opts: { listen: { host: string; port: number }; users?: SimUser[]; rate: number }): Promise<void> {
  const pbx = new SimulatedPbx({ host: opts.listen.host, port: opts.listen.port, users: opts.users, rate: opts.rate });
  const address = await pbx.start().catch((err: unknown) => fail(`simulator: ${err instanceof Error ? err.message : String(err)}`));
  const users = (opts.users ?? DEFAULT_USERS).map((u) => u.username).join(', ');
  process.stdout.write(
    `amiplex simulate: AMI server on ${address.host}:${address.port} (users: ${users}; ${opts.rate} events/s of call traffic)\n`,
  );
  stopOnSignals(() => pbx.stop());
}

export function buildProgram(): Command {
  const program = new Command('amiplex');
  program
    .description('A proxy for the Asterisk Manager Interface: one AMI session per PBX, shared by many clients.')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <file>', 'proxy.conf to run (default: ./proxy.conf if present, else demo mode)')
    .option('--check', 'validate the config, print every error, and exit (0 = valid)')
    .addOption(new Option('-l, --log-level <level>', 'log level').choices(LEVELS))
    .option('--demo-rate <n>', `demo mode: the simulated PBX's call traffic in events per second (default ${DEMO_RATE})`, nonNegative)
    .action(runProxy);
  program
    .command('simulate')
    .description('run the simulated Asterisk PBX alone, for a client or another amiplex to connect to')
    .requiredOption('--listen <host:port>', 'where the simulated AMI server listens', hostPort)
    .option('--users <list>', 'AMI users as USER:SECRET,… (default admin:admin,monitor:monitor)', simUsers)
    .option('--rate <n>', 'call traffic in events per second (0 = none)', nonNegative, 10)
    .action(runSimulator);
  program
    .command('hash-secret')
    .description('print a secret_hash line for proxy.conf; the secret is read from standard input (typed twice, hidden, on a terminal)')
    .action(async () => {
      process.exitCode = await hashSecretCommand(process.stdin, process.stdout, process.stderr);
    });
  program
    .command('gen-cert')
    .description('write a new self-signed TLS certificate and key to tls_cert and tls_key of proxy.conf, and print its SHA-256 fingerprint')
    .option('-c, --config <file>', 'proxy.conf whose tls_cert and tls_key to write (default: ./proxy.conf if present, else certs/amiplex.pem and certs/amiplex.key here)')
    .option('--force', 'replace existing files')
    .option('--days <n>', 'days of validity', positiveInteger, 730)
    .option('--cn <name>', "the certificate's common name, also one of its DNS names (default: this host's name)")
    .action((opts: { config?: string; force?: boolean; days: number; cn?: string }) => {
      process.exitCode = genCertCommand(opts, process.stdout, process.stderr);
    });
  program
    .command('import-astmanproxy')
    .description("print a proxy.conf equivalent to an astmanproxy.conf (and astmanproxy.users); warnings, each with its FILE:LINE, on standard error")
    .argument('<astmanproxy.conf>', "astmanproxy's configuration file")
    .argument('[astmanproxy.users]', "astmanproxy's users file")
    .action((conf: string, users: string | undefined) => {
      process.exitCode = importAstmanproxyCommand(conf, users, process.stdout, process.stderr);
    });
  return program;
}

await buildProgram().parseAsync(process.argv);
