// JSON lines on stdout (journald keeps them). Levels below the configured one cost one comparison.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export type LogFields = Record<string, unknown>

export interface Logger {
  level: LogLevel
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  enabled(level: LogLevel): boolean
  /** Writes a line made elsewhere (the request log's, src/requestLog.ts) through the same buffered sink. */
  writeLine(line: string): void
}

export function createLogger(level: LogLevel, write: (line: string) => void = writeStdout): Logger {
  const logger: Logger = {
    level,
    enabled: (at) => rank[at] >= rank[logger.level],
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    writeLine: write,
  }
  function emit(at: LogLevel, message: string, fields?: LogFields): void {
    if (rank[at] < rank[logger.level]) return
    write(JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...fields }, errorReplacer) + '\n')
  }
  return logger
}

/**
 * Every line (the request log's too: src/requestLog.ts) goes through one buffer, so their order holds: written in
 * batches of up to `maxPendingBytes`, or `flushDelayMs` after the first pending line — not a syscall per request.
 * What is pending is written at exit (stdout to a pipe or file is synchronous on Linux) and by flushStdout(), which
 * shutdown calls. A kill -9 loses at most the last `flushDelayMs`.
 */
const flushDelayMs = 50
const maxPendingBytes = 64 * 1024
let pending = ''
let flushTimer: NodeJS.Timeout | undefined
export function writeStdout(line: string): void {
  pending += line
  if (pending.length >= maxPendingBytes) flushStdout()
  else if (flushTimer === undefined) {
    flushTimer = setTimeout(flushStdout, flushDelayMs)
    flushTimer.unref()
  }
}

export function flushStdout(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer)
    flushTimer = undefined
  }
  if (pending === '') return
  const out = pending
  pending = ''
  process.stdout.write(out)
}

process.on('exit', flushStdout)

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: (value as any).code, stack: value.stack }
  }
  return value
}
