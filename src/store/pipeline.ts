/** One pipelined round trip to Redis: many commands sent together, with one deadline for the whole batch. */
import { ErrorReply } from '@redis/client';
import { SipLocateError } from '../core/errors';

/** The part of a Redis client a batch needs. */
export interface CommandSender {
  readonly isReady: boolean;
  sendCommand<T>(args: string[]): Promise<T>;
}

/** One command's reply: its value, or the error Redis answered it with (the connection itself was fine). */
export type BatchReply = { ok: true; value: unknown } | { ok: false; error: ErrorReply };

/** How long a batch may take. */
export interface BatchDeadline {
  /** Past this many ms the batch is slow: `onSlow` is called and the batch goes on waiting. */
  ms: number;
  /** The batch fails with ESTORETIMEOUT after this many deadlines (default 3). */
  patience?: number;
  onSlow?: () => void;
}

/** Turns anything a Redis client throws into a SipLocateError whose message never carries `secret`. */
export function redisError(err: unknown, what: string, secret?: string): SipLocateError {
  if (err instanceof SipLocateError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SipLocateError(
    'ESTOREDOWN',
    `Redis is not reachable (${what}): ${redact(detail, secret)}`,
    {},
    { cause: err },
  );
}

/** `text` with every occurrence of `secret` replaced by ***. */
export function redact(text: string, secret?: string): string {
  return secret ? text.split(secret).join('***') : text;
}

/**
 * Sends every command at once (the client writes them in one go) and resolves with one reply per command.
 * Rejects with ESTOREDOWN when the connection fails and ESTORETIMEOUT after `patience` deadlines.
 */
export function sendBatch(
  client: CommandSender,
  commands: readonly string[][],
  deadline: BatchDeadline,
  what: string,
): Promise<BatchReply[]> {
  if (!client.isReady) return Promise.reject(new SipLocateError('ESTOREDOWN', `Redis is not connected (${what}).`));
  const sent = commands.map((c) => client.sendCommand<unknown>(c));
  return new Promise<BatchReply[]>((resolve, reject) => {
    const patience = deadline.patience ?? 3;
    let waited = 0;
    const tick = (): void => {
      waited++;
      if (waited >= patience) {
        reject(
          new SipLocateError(
            'ESTORETIMEOUT',
            `Redis did not answer a batch of ${commands.length} commands within ${deadline.ms * patience} ms (${what}).`,
          ),
        );
        return;
      }
      deadline.onSlow?.();
      timer = setTimeout(tick, deadline.ms);
      timer.unref();
    };
    let timer = setTimeout(tick, deadline.ms);
    timer.unref();
    Promise.allSettled(sent).then((settled) => {
      clearTimeout(timer);
      const out: BatchReply[] = [];
      for (const s of settled) {
        if (s.status === 'fulfilled') out.push({ ok: true, value: s.value });
        else if (s.reason instanceof ErrorReply) out.push({ ok: false, error: s.reason });
        else {
          reject(redisError(s.reason, what));
          return;
        }
      }
      resolve(out);
    }, reject);
  });
}
