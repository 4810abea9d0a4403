import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { withDeadline, linkSignal } from '../../src/core/deadline';

const late = (): Error => new Error('late');

test('withDeadline resolves with the work and leaves no listener on the caller signal', async () => {
  const caller = new AbortController();
  let added = 0;
  let removed = 0;
  const add = caller.signal.addEventListener.bind(caller.signal);
  const remove = caller.signal.removeEventListener.bind(caller.signal);
  caller.signal.addEventListener = ((...a: Parameters<typeof add>) => {
    added++;
    add(...a);
  }) as typeof add;
  caller.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
    removed++;
    remove(...a);
  }) as typeof remove;
  for (let i = 0; i < 20; i++)
    assert.equal(await withDeadline(async () => i, { ms: 1000, signal: caller.signal, timeout: late }), i);
  assert.equal(added, 20);
  assert.equal(removed, 20);
});

test('withDeadline rejects with timeout() after ms and aborts the work signal (mock timers)', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let workSignal: AbortSignal | undefined;
    const p = withDeadline(
      (s) => {
        workSignal = s;
        return new Promise<number>(() => undefined);
      },
      { ms: 500, timeout: late },
    );
    mock.timers.tick(499);
    assert.equal(workSignal?.aborted, false);
    mock.timers.tick(1);
    await assert.rejects(p, /late/);
    assert.equal(workSignal?.aborted, true);
  } finally {
    mock.timers.reset();
  }
});

test('withDeadline rejects with cancelled() when the caller aborts, before or during the work', async () => {
  const before = new AbortController();
  before.abort();
  let ran = false;
  await assert.rejects(
    withDeadline(
      async () => {
        ran = true;
        return 1;
      },
      { ms: 1000, signal: before.signal, timeout: late, cancelled: () => new Error('cancelled') },
    ),
    /cancelled/,
  );
  assert.equal(ran, false);
  const during = new AbortController();
  let workSignal: AbortSignal | undefined;
  const p = withDeadline(
    (s) => {
      workSignal = s;
      return new Promise<number>(() => undefined);
    },
    { ms: 1000, signal: during.signal, timeout: late, cancelled: () => new Error('cancelled') },
  );
  during.abort();
  await assert.rejects(p, /cancelled/);
  assert.equal(workSignal?.aborted, true);
});

test('withDeadline passes a synchronous throw from work as a rejection', async () => {
  await assert.rejects(
    withDeadline(
      () => {
        throw new Error('boom');
      },
      { ms: 1000, timeout: late },
    ),
    /boom/,
  );
});

test('linkSignal follows its parent and dispose() detaches it', () => {
  const parent = new AbortController();
  const a = linkSignal(parent.signal);
  const b = linkSignal(parent.signal);
  b.dispose();
  parent.abort();
  assert.equal(a.signal.aborted, true);
  assert.equal(b.signal.aborted, false);
});

test('withDeadline declares its fan-out on the work signal: 40 listeners under fanOut 64 raise no leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
  };
  process.on('warning', onWarning);
  try {
    await withDeadline(
      async (signal) => {
        const handlers = Array.from({ length: 40 }, () => (): void => undefined);
        for (const h of handlers) signal.addEventListener('abort', h);
        for (const h of handlers) signal.removeEventListener('abort', h);
      },
      { ms: 1000, timeout: late, fanOut: 64 },
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});
