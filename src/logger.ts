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
}

export function createLogger(level: LogLevel, write: (line: string) => void = writeStdout): Logger {
  const logger: Logger = {
    level,
    enabled: (at) => rank[at] >= rank[logger.level],
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  }
  function emit(at: LogLevel, message: string, fields?: LogFields): void {
    if (rank[at] < rank[logger.level]) return
    write(JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...fields }, errorReplacer) + '\n')
  }
  return logger
}

/**
 * Lines written in one turn of the event loop go out in one write (a request log line each would otherwise cost a
 * syscall per request); what is pending is written at exit too.
 */
let pending = ''
function writeStdout(line: string): void {
  if (pending === '') setImmediate(flushStdout)
  pending += line
}

export function flushStdout(): void {
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
