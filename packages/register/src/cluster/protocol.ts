// The messages between a primary and its workers, and how they are sent.
import type { ChildProcess } from 'node:child_process';
import { debug, describe } from '../warn.js';

export const CMD = 'NODE_MON';
export const PROTOCOL = 1;

/** Index of what a worker's collection answered: scrapes, or peeks (their own snapshot). */
export const SCRAPE = 0;
export const PEEK = 1;
export type Kind = typeof SCRAPE | typeof PEEK;

export interface Message {
  cmd: typeof CMD;
  type: 'hello' | 'welcome' | 'collect' | 'metrics';
  version?: number;
  /** collect: the request; metrics: the requests this answers. */
  id?: number;
  /**
   * collect: a peek (the live page's poll): the worker's interval metrics start no new interval.
   * metrics: this answers peeks.
   */
  peek?: boolean;
  ids?: number[];
  /** metrics: the SDK's scopes (answers only) and the producers' scopes, each with a sequence number. */
  sdk?: string;
  sdkSeq?: number;
  /** metrics: what failed in the worker's collection (a throwing callback), for the primary to report. */
  errors?: Array<{ name: string; message: string }>;
  produced?: string;
  producedSeq?: number;
}

export function isOurs(message: unknown): message is Message {
  return typeof message === 'object' && message !== null && (message as { cmd?: unknown }).cmd === CMD;
}

/** Sends without ever throwing or emitting 'error' (a send on a closed channel does without a callback). */
export function send(target: Pick<ChildProcess, 'send' | 'connected'> | NodeJS.Process, message: Omit<Message, 'cmd'>): boolean {
  if (!target.connected || target.send === undefined) return false;
  try {
    target.send({ cmd: CMD, ...message }, undefined, {}, (error: Error | null) => {
      if (error) debug('cluster: send failed: %s', error.message);
    });
    return true;
  } catch (error) {
    debug('cluster: send failed: %s', describe(error));
    return false;
  }
}
