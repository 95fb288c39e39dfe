// Validates a batch's input file in one streamed pass (never the whole file in memory): splits it into lines, keeping
// where each one is (bytes), and checks each (lineCheck.ts). The result is either every line, good, with its place in
// the file (the runner reads a line's body again from there), or every bad line named.
import { createReadStream } from 'node:fs'
import { checkLine, maxBatchLines, type LineError } from './lineCheck.js'
import type { NewLine } from './batchStore.js'

export type ScanResult = { ok: true; lines: NewLine[] } | { ok: false; errors: LineError[] }

/** Bad lines named beyond this many are counted in one more error, not listed (the error file stays bounded). */
export const maxNamedErrors = 10_000

export async function scanInput(path: string, endpoint: string): Promise<ScanResult> {
  const scan = new LineScan(endpoint)
  for await (const chunk of createReadStream(path)) scan.push(chunk as Buffer)
  return scan.end()
}

/** The scan's state between chunks: the unfinished line's bytes and where it starts in the file. */
export class LineScan {
  private readonly seen = new Set<string>()
  private readonly lines: NewLine[] = []
  private readonly errors: LineError[] = []
  private badCount = 0
  /** The file's line number (1-based, blank lines counted) and how many lines are not blank. */
  private lineNumber = 0
  private count = 0
  private carry: Buffer[] = []
  private carryStart = 0
  private position = 0

  constructor(private readonly endpoint: string) {}

  push(chunk: Buffer): void {
    let start = 0
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.carry.push(chunk.subarray(start, newline))
      this.finishLine()
      start = newline + 1
      this.carryStart = this.position + start
    }
    if (start < chunk.length) this.carry.push(chunk.subarray(start))
    this.position += chunk.length
  }

  end(): ScanResult {
    if (this.carry.length > 0) this.finishLine()
    if (this.count === 0)
      this.report({ code: 'empty_file', message: 'the input file has no lines', param: null, line: 0 })
    if (this.count > maxBatchLines) {
      this.report({
        code: 'too_many_lines',
        message: `the input file has ${this.count} lines; a batch may have at most ${maxBatchLines}`,
        param: null,
        line: maxBatchLines + 1,
      })
    }
    if (this.badCount > this.errors.length) {
      this.errors.push({
        code: 'too_many_errors',
        message: `${this.badCount - this.errors.length} more bad lines are not listed`,
        param: null,
        line: 0,
      })
    }
    return this.badCount === 0 ? { ok: true, lines: this.lines } : { ok: false, errors: this.errors }
  }

  private finishLine(): void {
    const bytes = Buffer.concat(this.carry)
    this.carry = []
    // A CRLF file's lines end in \r; blank lines (the last newline's) are not lines.
    const length = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length
    const text = bytes.toString('utf8', 0, length)
    this.lineNumber++
    if (text.trim() === '') return
    this.count++
    if (this.count > maxBatchLines) return
    const checked = checkLine(text, bytes.subarray(0, length), this.lineNumber, this.endpoint, this.seen)
    if ('code' in checked) return this.report(checked)
    this.lines.push({ customId: checked.customId, offset: this.carryStart, length })
  }

  private report(error: LineError): void {
    this.badCount++
    if (this.errors.length < maxNamedErrors) this.errors.push(error)
  }
}
