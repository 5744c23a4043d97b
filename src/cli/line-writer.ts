// Buffered line output for commands that print millions of JSON lines: writes in large chunks, honours
// back-pressure, and stops quietly when the reader closes the pipe (EPIPE from `| head`).
import type { Writable } from 'node:stream';

export class LineWriter {
  #out: Writable;
  #parts: string[] = [];
  #size = 0;
  #closed = false;
  readonly #limit: number;

  constructor(out: Writable, limit = 1 << 16) {
    this.#out = out;
    this.#limit = limit;
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.#closed = true;
      else throw err;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  line(s: string): void {
    this.#parts.push(s, '\n');
    this.#size += s.length + 1;
  }

  async flushIfFull(): Promise<void> {
    if (this.#size >= this.#limit) await this.#flush();
  }

  async end(): Promise<void> {
    await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#parts.length === 0 || this.#closed) return;
    const chunk = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    if (!this.#out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#out.off('drain', done);
          this.#out.off('close', done);
          resolve();
        };
        this.#out.once('drain', done);
        this.#out.once('close', done);
      });
    }
  }
}
