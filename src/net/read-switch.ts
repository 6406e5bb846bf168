/**
 * Reading of one socket switched off and on by whoever paces it (a client's input, a PBX's
 * events): each call changes something only when the state changes, and once closed the socket
 * is never resumed again (it is going away; resuming would read what nobody handles).
 */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export class ReadSwitch {
  private paused = false;
  private closed = false;

  constructor(private readonly socket: Pausable) {}

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.socket.resume();
  }

  /** No resume from now on. */
  close(): void {
    this.closed = true;
  }
}
