// The primary and a worker over a fake IPC channel: each side emits what the other sends, as
// Node does ('internalMessage' for NODE_* cmds, 'message' for the rest), after a JSON round trip.
import { EventEmitter } from 'node:events';

export class Channel extends EventEmitter {
  connected = true;
  pid = 4242;
  peer!: Channel;
  /** A hung worker (its event loop blocked): nothing goes in or out. */
  hung = false;

  send(message: unknown, _handle?: unknown, _options?: unknown, callback?: (error: Error | null) => void): boolean {
    const copy = JSON.parse(JSON.stringify(message)) as { cmd?: unknown };
    const internal = typeof copy.cmd === 'string' && copy.cmd.startsWith('NODE_');
    setImmediate(() => {
      if (!this.hung && !this.peer.hung) this.peer.emit(internal ? 'internalMessage' : 'message', copy);
    });
    callback?.(null);
    return true;
  }

  /**
   * The worker process ends: the primary's side sees 'exit', then the channel closes, unless
   * `disconnect` is false: node:cluster defers 'disconnect' while a handle it sent awaits the
   * worker's ack, which a SIGKILLed worker never sends.
   */
  die({ disconnect = true } = {}): void {
    this.peer.hung = true;
    this.emit('exit', null, 'SIGKILL');
    if (!disconnect) return;
    this.connected = false;
    this.peer.connected = false;
    this.emit('disconnect');
  }
}

export function channelPair(): { child: Channel; process: Channel } {
  const child = new Channel();
  const process = new Channel();
  child.peer = process;
  process.peer = child;
  return { child, process };
}

