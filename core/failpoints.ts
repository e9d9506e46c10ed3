/**
 * Crash injection for the crash tests: SB_FAILPOINTS="mid-apply:0.2,after-commit:0.1"
 * makes the process SIGKILL itself at that named step with that probability. The
 * aggregator's steps: after-insert, mid-apply, before-commit, after-commit, mid-fold.
 * Unset (as in production), `failpoint` is a lookup that returns at once.
 */
const points = new Map(
  (process.env.SB_FAILPOINTS ?? '')
    .split(',')
    .filter((entry) => entry.includes(':'))
    .map((entry) => {
      const [name, probability] = entry.split(':') as [string, string];
      return [name.trim(), Number(probability)] as const;
    }),
);

export function failpoint(name: string): void {
  const probability = points.get(name);
  if (probability !== undefined && Math.random() < probability) process.kill(process.pid, 'SIGKILL');
}
