/**
 * `amiplex hash-secret`: prints a secret_hash line for proxy.conf. The secret is read from
 * standard input — typed twice without echo on a terminal, or piped (one trailing newline
 * removed) — never from the command line, where shell history and `ps` would show it.
 */
import { hashSecret } from './access/secret-hash.js';

export async function hashSecretCommand(stdin: NodeJS.ReadStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  let secret: string;
  if (stdin.isTTY) {
    const first = await promptHidden(stdin, stderr, 'Secret: ');
    const again = await promptHidden(stdin, stderr, 'Again: ');
    if (first !== again) {
      stderr.write('amiplex: the two secrets differ\n');
      return 1;
    }
    secret = first;
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (secret === '') {
    stderr.write('amiplex: empty secret\n');
    return 1;
  }
  // Secrets travel on the wire as bytes: hash the UTF-8 bytes, as a client sends them.
  stdout.write(`secret_hash = ${await hashSecret(Buffer.from(secret, 'utf8').toString('latin1'))}\n`);
  return 0;
}

function promptHidden(stdin: NodeJS.ReadStream, out: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve) => {
    out.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          out.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') process.exit(130);
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}
