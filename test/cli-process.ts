import { spawn, type ChildProcess } from 'node:child_process';

/** The `signalboard` CLI in a process of its own, as a user runs it, with its output collected. */
export interface CliRun {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

export function runCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/signalboard.ts', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** Waits for `pattern` in the output; throws with the output when it does not come (or the process ended). */
export async function waitForOutput(run: CliRun, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(run.output());
    if (match) return match;
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${pattern} in the output:\n${run.output()}`);
}

/** The URL a started server printed. */
export async function listeningUrl(run: CliRun, timeoutMs = 20_000): Promise<string> {
  return (await waitForOutput(run, /listening on (http:\/\/localhost:\d+)/, timeoutMs))[1]!;
}
