// How commands talk back: tables for people, JSON for scripts, errors on stderr with the exit codes admins expect
// (0 ok, 1 failed, 2 usage).
import { GatewayError } from '../src/errors.js'
import { DatabaseError } from '../src/store/database.js'

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message)
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n')
    return
  }
  const text = rows.map((row) => columns.map((column) => fieldText(row[column])))
  const widths = columns.map((column, i) => Math.max(column.length, ...text.map((cells) => cells[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  process.stdout.write([line(columns.map((column) => column.toUpperCase())), ...text.map(line)].join('\n') + '\n')
}

/** A field as a person reads it: '-' for nothing, lists comma-separated. */
export function fieldText(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value)) return value.join(',')
  if (typeof value === 'string') return value
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value)
}

/** One `field  value` line per field, for `show` commands. */
export function printFields(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((field) => field.length)) + 2
  for (const [field, value] of Object.entries(record))
    process.stdout.write(`${field.padEnd(width)}${fieldText(value)}\n`)
}

/** ms since epoch -> ISO time, for output. */
export function time(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString()
}

/**
 * Runs a check of the service layer (src/admin/) on what an option gave: its refusal of the value (invalid_request) is
 * a usage error naming the option (exit 2), as the command's own option checks are.
 */
export function optionCheck<T>(option: string, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'invalid_request') {
      throw new CliError(`--${option}: ${error.message}`, 2)
    }
    throw error
  }
}

/** Runs a command body, turning known failures into a message and an exit code. */
export function guard<A>(run: (args: A) => void | Promise<void>): (args: any) => Promise<void> {
  return async (args: A): Promise<void> => {
    try {
      await run(args)
    } catch (error) {
      const known = error instanceof CliError || error instanceof DatabaseError || isUserFacing(error)
      if (!known) throw error
      process.stderr.write(`parallama: ${(error as Error).message}\n`)
      process.exit(error instanceof CliError ? error.exitCode : 1)
    }
  }
}

/** Errors of ours that carry a stable code and a message meant for the user. */
function isUserFacing(error: unknown): boolean {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && !('errno' in error)
}

/**
 * Output to a pipe whose reader has gone (`parallama usage export | head -1`) ends the command quietly with exit 0,
 * as the reader asked for no more: no stack trace, no error message.
 */
export function endQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0)
      throw error
    })
  }
}
