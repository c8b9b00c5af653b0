import { ProgressBar } from '../../src/runner/logging/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { out: string } {
  const s = { isTTY, columns: 100, out: '', write(chunk: string) { s.out += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { out: string };
}

describe('ProgressBar', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  test('on a terminal: a redrawn bar with count, percent and ETA, cleared at the end', async () => {
    delete process.env.CI;
    const s = fakeStream(true);
    const bar = new ProgressBar('t-SNE feat5', 1000, s);
    bar.update(0);
    await new Promise((r) => setTimeout(r, 120));
    bar.update(250);
    expect(s.out).toMatch(/\r\x1b\[2Kt-SNE feat5 \[######------------------\] 250\/1000 25% {2}eta \d+:\d\d:\d\d/);
    bar.update(1000); // the last update is never throttled
    expect(s.out).toContain('1000/1000 100%');
    bar.finish();
    expect(s.out.endsWith('\r\x1b[2K')).toBe(true);
  });

  test('not a terminal, or under CI: writes nothing', () => {
    delete process.env.CI;
    const pipe = fakeStream(false);
    const a = new ProgressBar('extract features', 10, pipe);
    for (let i = 0; i <= 10; i++) a.update(i);
    a.finish();
    expect(pipe.out).toBe('');
    process.env.CI = 'true';
    const tty = fakeStream(true);
    const b = new ProgressBar('extract features', 10, tty);
    b.update(10);
    b.finish();
    expect(tty.out).toBe('');
  });
});
