// POST /v1/files: a multipart/form-data body (OpenAI's: a `file` part and a `purpose` field), parsed as it streams
// (busboy) and written to a temporary file under the size cap. Only a complete upload with purpose `batch` becomes a
// file: any failure (bad form, too large, the client gone) removes the temporary and answers what was wrong.
import type { Readable } from 'node:stream'
import busboy from 'busboy'
import { GatewayError } from '../errors.js'
import type { FileStorage, PendingFile } from './fileStorage.js'

export interface ReceivedFile {
  filename: string
  purpose: string
  bytes: number
  pending: PendingFile
}

/** The purposes this gateway keeps files for (OpenAI has more: assistants, fine-tune, ... which it does not run). */
export const uploadPurposes = ['batch'] as const

const maxFilenameBytes = 255

export function receiveUpload(
  body: Readable,
  contentType: string | undefined,
  maxBytes: number,
  storage: FileStorage,
): Promise<ReceivedFile | GatewayError> {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
    body.resume()
    return Promise.resolve(
      new GatewayError('invalid_request', 'a file is uploaded as multipart/form-data with a "file" part'),
    )
  }
  return new Promise((resolve) => {
    let parser: busboy.Busboy
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        limits: { fileSize: maxBytes, files: 1, fields: 8, fieldSize: 1024, parts: 9 },
      })
    } catch (error) {
      return resolve(new GatewayError('invalid_request', `the multipart form cannot be read: ${message(error)}`))
    }
    const upload = new Upload(storage, maxBytes, resolve)
    parser.on('field', (name, value) => upload.field(name, value))
    parser.on('file', (name, stream, info) => upload.file(name, stream, info.filename))
    parser.on('filesLimit', () => upload.fail(new GatewayError('invalid_request', 'send one file per upload')))
    parser.on('error', (error) =>
      upload.fail(new GatewayError('invalid_request', `bad multipart form: ${message(error)}`)),
    )
    parser.on('close', () => upload.formEnded())
    body.on('error', (error) => upload.fail(new GatewayError('invalid_request', message(error))))
    body.pipe(parser)
  })
}

/** One upload's progress: its fields, the file part being written, and the one answer it settles with. */
class Upload {
  private purpose: string | undefined
  private filename = ''
  private bytes = 0
  private pending: PendingFile | undefined
  private writing: Promise<void> | undefined
  private settled = false

  constructor(
    private readonly storage: FileStorage,
    private readonly maxBytes: number,
    private readonly resolve: (result: ReceivedFile | GatewayError) => void,
  ) {}

  field(name: string, value: string): void {
    if (name === 'purpose') this.purpose = value
  }

  file(name: string, stream: Readable, filename: string | undefined): void {
    if (name !== 'file' || this.pending || this.settled) {
      stream.resume()
      return
    }
    this.filename = filename ?? 'file'
    if (Buffer.byteLength(this.filename) > maxFilenameBytes) {
      stream.resume()
      return this.fail(new GatewayError('invalid_request', `the file name is longer than ${maxFilenameBytes} bytes`))
    }
    const pending = this.storage.create()
    this.pending = pending
    stream.on('data', (chunk: Buffer) => (this.bytes += chunk.length))
    stream.on('limit', () =>
      this.fail(
        new GatewayError('file_too_large', `the file is larger than ${this.maxBytes} bytes (batch.max_file_bytes)`),
      ),
    )
    this.writing = new Promise((done, failed) => {
      pending.stream.on('error', failed)
      stream.on('end', done)
      stream.pipe(pending.stream, { end: false })
    })
  }

  formEnded(): void {
    if (this.settled) return
    if (!this.pending) return this.fail(new GatewayError('invalid_request', 'the form has no "file" part'))
    if (this.purpose === undefined) return this.fail(new GatewayError('invalid_request', '"purpose" is required'))
    if (!(uploadPurposes as readonly string[]).includes(this.purpose)) {
      return this.fail(
        new GatewayError(
          'invalid_request',
          `"purpose" must be one of: ${uploadPurposes.join(', ')} (this gateway runs batches only)`,
        ),
      )
    }
    const pending = this.pending
    this.writing!.then(
      () => {
        if (this.settled) return
        this.settled = true
        this.resolve({ filename: this.filename, purpose: this.purpose!, bytes: this.bytes, pending })
      },
      (error: unknown) =>
        this.fail(new GatewayError('internal_error', `the file could not be written: ${message(error)}`)),
    )
  }

  fail(error: GatewayError): void {
    if (this.settled) return
    this.settled = true
    void this.pending?.discard()
    this.resolve(error)
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
