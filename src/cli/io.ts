/** Where a command's output lines go (the process's streams, or a test's buffers). */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}
