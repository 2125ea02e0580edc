import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { startLocalDynamoDB } from '../lib/stores/local-dynamodb.js';
import { startLocalKinesis } from '../lib/stores/local-kinesis.js';

/**
 * Benchmarks run their servers (dynalite, the HTTP API) as child processes of their own script, as
 * real servers run apart from their clients: these helpers start one, read what it prints line by
 * line, and stop it, leaving no process behind.
 */

/** A child process of this script in one of its roles, read line by line. */
export function startChild(script: string, args: readonly string[]) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const take = waiting.shift();
    if (take) take(line.trim());
    else queue.push(line.trim());
  });
  const exited = once(child, 'exit');
  return {
    /** The next line the child prints; fails if it exits first. */
    next: (): Promise<string> => {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return Promise.race([
        new Promise<string>((resolveLine) => waiting.push(resolveLine)),
        exited.then(([code]) => {
          throw new Error(`the ${args[0]} process exited with code ${String(code)}`);
        }),
      ]);
    },
    send: (line: string) => child.stdin?.write(`${line}\n`),
    close: () => stopChild(child),
  };
}

/** Ends the child by closing its stdin; kills it (by its pid, it alone) if it has not exited in 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Runs in the child: dynalite in memory, its endpoint on stdout, closed when the parent closes stdin. */
export async function runDynaliteChild(): Promise<void> {
  const server = await startLocalDynamoDB();
  process.stdout.write(`${server.endpoint}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await server.close();
  process.exit(0);
}

/** Runs in the child: kinesalite in memory, its endpoint on stdout, closed when the parent closes stdin. */
export async function runKinesaliteChild(): Promise<void> {
  const server = await startLocalKinesis();
  process.stdout.write(`${server.endpoint}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await server.close();
  process.exit(0);
}
