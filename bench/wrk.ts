// Runs wrk (pipelining 1: uWS does not pipeline) and reads its results from a Lua `done` hook as JSON, latencies in µs.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface LoadSpec {
  method: 'GET' | 'POST'
  path: string
  body?: string
  headers?: Record<string, string>
  connections: number
  seconds: number
}

export interface LoadResult {
  requests: number
  seconds: number
  rps: number
  p50us: number
  p90us: number
  p99us: number
  errors: number
  non2xx: number
}

const dir = mkdtempSync(join(tmpdir(), 'parallama-bench-wrk-'))

function script(spec: LoadSpec): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.lua`)
  const headers = { ...(spec.body ? { 'content-type': 'application/json' } : {}), ...spec.headers }
  const lines = [
    `wrk.method = ${JSON.stringify(spec.method)}`,
    spec.body ? `wrk.body = ${JSON.stringify(spec.body)}` : '',
    ...Object.entries(headers).map(
      ([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`,
    ),
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'\\nRESULT {"requests":%d,"duration_us":%d,"errors":%d,"status":%d,"p50":%d,"p90":%d,"p99":%d}\\n\',',
    '    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99)))',
    'end',
  ]
  writeFileSync(path, lines.join('\n'))
  return path
}

export async function runLoad(baseUrl: string, spec: LoadSpec): Promise<LoadResult> {
  const args = [
    '-t1',
    `-c${spec.connections}`,
    `-d${spec.seconds}s`,
    '--timeout',
    '30s',
    '-s',
    script(spec),
    `${baseUrl}${spec.path}`,
  ]
  const { stdout } = await run('wrk', args, { maxBuffer: 1 << 20 })
  const line = stdout.split('\n').find((text) => text.startsWith('RESULT '))
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`)
  const raw = JSON.parse(line.slice(7))
  const seconds = raw.duration_us / 1e6
  return {
    requests: raw.requests,
    seconds,
    rps: raw.requests / seconds,
    p50us: raw.p50,
    p90us: raw.p90,
    p99us: raw.p99,
    errors: raw.errors,
    non2xx: raw.status,
  }
}
