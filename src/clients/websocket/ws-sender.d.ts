/**
 * ws's frame writer, which its package exports (lib/sender.js, `import { Sender } from 'ws'`)
 * but @types/ws does not declare: the one function amiplex uses of it. See ws-wire.ts.
 */
import 'ws';

declare module 'ws' {
  export class Sender {
    /** The frame of `data`, as ws writes it: [header, payload], or [header and payload] when it had to copy. */
    static frame(data: Buffer, options: { readonly fin: boolean; readonly rsv1: boolean; readonly opcode: number; readonly mask: boolean; readonly readOnly: boolean }): Buffer[];
  }
}
