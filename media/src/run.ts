import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { SegmintError } from '@segmint/protocol';

export class ProcessError extends SegmintError {
  override name = 'ProcessError';
  constructor(message: string, options: { details?: string; retryable?: boolean; cause?: unknown } = {}) {
    super('PROCESS_FAILED', message, options);
  }
}

export type RunParameters = {
  /** Bytes (or a stream of them) written to stdin, then stdin is closed. */
  input?: Buffer | Readable;
  /** Kill the process (SIGKILL) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
};

export type RunReturnType = { stdout: Buffer; stderr: string };

/** Runs a binary to completion; rejects with the tail of stderr when it exits non-zero. */
export function run(bin: string, args: readonly string[], params: RunParameters = {}): Promise<RunReturnType> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: params.signal });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 64_000) err = err.slice(-32_000); // keep the tail, bounded
    });
    const timer = params.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), params.timeoutMs).unref()
      : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ProcessError(`could not run ${bin}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout: Buffer.concat(out), stderr: err });
      const why = sig ? `killed by ${sig}` : `exit code ${code}`;
      reject(new ProcessError(`${bin.split('/').pop()} failed (${why})`, { details: err.slice(-2000) }));
    });
    child.stdin.on('error', () => {}); // the process may exit before reading all input
    if (params.input instanceof Readable) {
      params.input.on('error', (e) => {
        child.kill('SIGKILL');
        reject(new ProcessError(`input stream failed: ${e.message}`, { cause: e, retryable: true }));
      });
      params.input.pipe(child.stdin);
    } else child.stdin.end(params.input);
  });
}
