// The processes a bench run measures, each on its own loopback port: the Ollama emulator, Parallama, and nginx as a
// plain reverse proxy. CPU time is read from /proc so each proxy's cost per request can be compared.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Started {
  name: string
  url: string
  pid: number
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  return typeof address === 'object' && address ? address.port : 0
}

/** Resolves once `url` answers, or rejects after `ms`. */
async function waitUntilUp(url: string, child: ChildProcess, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`)
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      return
    } catch {
      await sleep(50)
    }
  }
  throw new Error(`${url} did not come up within ${ms} ms`)
}

function started(name: string, url: string, child: ChildProcess): Started {
  return {
    name,
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))])
    },
  }
}

export async function startEmulatorProcess(): Promise<Started> {
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/bench/emulator/main.js', '--port', String(port)], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  await waitUntilUp(`${url}/`, child)
  return started('emulator', url, child)
}

/** Which parts of the gateway run: everything (`parallama serve`), credentials only, or the bare proxy. */
export type GatewayParts = 'all' | 'auth' | 'proxy' | 'no-metrics'

const partsName: Record<GatewayParts, string> = {
  all: 'parallama',
  auth: 'auth-only',
  proxy: 'no-auth',
  'no-metrics': 'no-metrics',
}

/** What a bench may change in the gateway it starts (the defaults are what `npm run bench` measures). */
export interface ParallamaOptions {
  /** The backends with their slots (default: the one upstream with parallel 1024). */
  backends?: { url: string; parallel: number }[]
  /** More config as PARALLAMA_SECTION__KEY variables, e.g. the scheduler's policy. */
  env?: Record<string, string>
  /** More users, each with a key of its own: name → weight (`parallama user set-weight` when it is not 1). */
  users?: Record<string, number>
}

/**
 * Parallama on a fresh database in a temp folder, with one user and API key made by its own CLI. Every target gets
 * the key's Authorization header, so all of them receive the same request bytes. With every part on, a default
 * limit rule (high enough never to refuse) makes each request go through the limiter's bookkeeping too.
 */
export async function startParallama(
  upstream: string,
  parts: GatewayParts = 'all',
  options: ParallamaOptions = {},
): Promise<Started & { authorization: string; authorizations: Record<string, string> }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'parallama-bench-'))
  const files = {
    PARALLAMA_DATABASE__PATH: join(dir, 'parallama.db'),
    PARALLAMA_AUTH__JWT_SECRET_FILE: join(dir, 'jwt.key'),
  }
  const cli = (args: string[]) =>
    execFileSync(process.execPath, ['dist/cli/index.js', ...args, '--config', 'conf/parallama.yaml'], {
      env: { ...process.env, ...files },
      encoding: 'utf8',
    })
  cli(['user', 'add', 'bench', '--no-password'])
  const key = cli(['key', 'create', '--user', 'bench']).trim()
  const authorizations: Record<string, string> = {}
  for (const [name, weight] of Object.entries(options.users ?? {})) {
    cli(['user', 'add', name, '--no-password'])
    if (weight !== 1) cli(['user', 'set-weight', name, String(weight)])
    authorizations[name] = `Bearer ${cli(['key', 'create', '--user', name]).trim()}`
  }
  const full = parts === 'all' || parts === 'no-metrics'
  if (full) cli(['limit', 'set', '--default', '--rpm', '100000000', '--tpm', '1000000000000'])
  // BENCH_CPU_PROF=DIR writes a V8 CPU profile of the gateway there when it stops (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  const entry = full ? ['dist/cli/index.js', 'serve', '--config'] : ['dist/bench/gatewayParts.js', parts]
  // Its log lines go to a file, as nginx's access log does (under systemd they go to the journal).
  const log = openSync(join(dir, 'gateway.log'), 'a')
  const nodeFlags = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []
  const child = spawn(process.execPath, [...nodeFlags, ...profile, ...entry, 'conf/parallama.yaml'], {
    stdio: ['ignore', log, 'inherit'],
    env: {
      ...process.env,
      PARALLAMA_SERVER__PORT: String(port),
      // The emulator runs every request at once (no --parallel): so may the gateway, as for an Ollama with as many
      // slots as connections; the scheduler's decision is still on every inference request's way.
      PARALLAMA_BACKENDS: JSON.stringify(options.backends ?? [{ url: upstream, parallel: 1024 }]),
      ...(parts === 'no-metrics' ? { PARALLAMA_METRICS__ENABLED: 'false' } : {}),
      ...options.env,
      ...files,
    },
  })
  const url = `http://127.0.0.1:${port}`
  await waitUntilUp(`${url}/`, child)
  return { ...started(partsName[parts], url, child), authorization: `Bearer ${key}`, authorizations }
}

export function nginxPath(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((path) => existsSync(path))
}

/** nginx as a plain streaming reverse proxy: one process (no master), keep-alive upstream, buffering off. */
export async function startNginx(binary: string, upstream: string): Promise<Started> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'parallama-bench-nginx-'))
  const upstreamHost = new URL(upstream).host
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  # As Debian ships it (/etc/nginx/nginx.conf): the combined format, one write per request, to a file.
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream ollama { server ${upstreamHost}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 64m;
    location / {
      proxy_pass http://ollama;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`
  writeFileSync(join(dir, 'nginx.conf'), conf)
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  await waitUntilUp(`${url}/`, child)
  return started('nginx', url, child)
}

const ticksPerSecond = 100

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}
