// The one schema of Parallama's configuration: defaults, validation and the documentation of conf/parallama.yaml all
// come from here. A later section is one more entry in `schema` below.
import {
  boolean,
  bytes,
  decimal,
  duration,
  httpUrl,
  integer,
  list,
  oneOf,
  section,
  string,
  type Infer,
  type LeafNode,
  Expected,
} from './schemaTypes.js'
import { roles, type Role } from '../auth/permissions.js'
import { maxWeight, minWeight } from '../auth/weights.js'
import { validationModes } from '../validation/modes.js'

const backend = section('One Ollama server.', {
  url: httpUrl({ doc: 'Base URL of the Ollama server (what OLLAMA_HOST would be).', default: '' }),
  name: string({
    doc: 'Name used in logs and metrics; defaults to host:port of the URL.',
    default: '',
    pattern: /^$|^[A-Za-z0-9._-]{1,64}$/,
    describe: 'a name of 1 to 64 letters, digits, dots, underscores or dashes',
  }),
  weight: integer({ doc: 'Relative share of requests this backend receives.', default: 1, min: 1, max: 1000 }),
  parallel: integer({
    doc: "Requests each loaded model runs at once on this backend: set it to the backend's OLLAMA_NUM_PARALLEL.",
    default: 1,
    min: 1,
    max: 1024,
  }),
})

const price = section('The price of one model.', {
  model: string({
    doc: 'A model name or family:* pattern.',
    default: '',
    pattern: /^[^\s]{1,200}$/,
    describe: 'a model name or pattern',
  }),
  prompt: decimal({ doc: 'Price per million prompt tokens.', default: 0, min: 0, max: 1e6 }),
  completion: decimal({ doc: 'Price per million completion tokens.', default: 0, min: 0, max: 1e6 }),
})

const alias = section('A model name clients may use for another model.', {
  alias: string({
    doc: 'The name clients send (e.g. gpt-4o-mini).',
    default: '',
    pattern: /^[^\s]{1,200}$/,
    describe: 'a model name without spaces',
  }),
  model: string({
    doc: 'The Ollama model it stands for (e.g. llama3.2:3b).',
    default: '',
    pattern: /^[^\s]{1,200}$/,
    describe: 'a model name without spaces',
  }),
})

/** A plugin's options: any mapping, handed to its factory as is (from an env var: JSON). */
const pluginOptions: LeafNode<Record<string, unknown>> = {
  kind: 'leaf',
  doc: "Options handed to the plugin's factory.",
  default: {},
  expects: 'a mapping (any keys the plugin reads)',
  parse(raw, fromEnv) {
    let value = raw
    if (fromEnv && typeof raw === 'string') {
      try {
        value = JSON.parse(raw)
      } catch {
        throw new Expected('a JSON object')
      }
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Expected('a mapping')
    return value as Record<string, unknown>
  },
  format: (value) => JSON.stringify(value),
}

const plugin = section('One plugin (docs/plugins.md).', {
  module: string({
    doc: 'The ES module: an absolute path (/etc/parallama/plugins/x.mjs) or an installed package name.',
    default: '',
    pattern: /^(\/\S+|@?[a-z0-9][\w.-]*(\/[\w.-]+)*)$/,
    describe: 'an absolute path or a package name',
  }),
  options: pluginOptions,
  timeout: duration({
    doc: 'How long its onRequest hook may take; past it the request fails with 500 plugin_error.',
    default: 1000,
    min: 1,
  }),
})

/** A list of words (YAML list; from an env var: JSON, or separated by commas or spaces). */
function wordList(options: { doc: string; default: string[]; word: RegExp; describe: string }): LeafNode<string[]> {
  const expects = `a list of ${options.describe}`
  return {
    kind: 'leaf',
    doc: options.doc,
    default: options.default,
    expects,
    parse(raw, fromEnv) {
      let value = raw
      if (fromEnv && typeof raw === 'string') {
        value = raw.trim().startsWith('[') ? safeJson(raw) : raw.split(/[\s,]+/).filter((word) => word !== '')
      }
      if (!Array.isArray(value) || !value.every((word) => typeof word === 'string' && options.word.test(word))) {
        throw new Expected(expects)
      }
      return value as string[]
    },
    format: (value) => JSON.stringify(value),
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** SSO groups to roles: a mapping of group name (as the IdP sends it) to one of the roles. */
const roleMap: LeafNode<Record<string, Role>> = {
  kind: 'leaf',
  doc: 'Group (as the IdP names it in the groups claim) to role; the highest role of the groups a user is in wins.',
  default: {},
  expects: `a mapping of group name to one of ${roles.join(', ')}`,
  parse(raw, fromEnv) {
    const value = fromEnv && typeof raw === 'string' ? safeJson(raw) : raw
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Expected(roleMap.expects)
    for (const [group, role] of Object.entries(value)) {
      if (group === '' || group.length > 256 || !(roles as readonly unknown[]).includes(role)) {
        throw new Expected(roleMap.expects)
      }
    }
    return value as Record<string, Role>
  },
  format: (value) => JSON.stringify(value),
}

const oidc = section(
  'Single sign-on with an OpenID Connect provider (docs/auth.md#single-sign-on-oidc); off while issuer is empty.',
  {
    issuer: string({
      doc: "The provider's issuer URL, exactly as its discovery document names it (https://idp.example.com/realms/x).",
      default: '',
      pattern: /^$|^https?:\/\/[^\s?#]+$/,
      describe: 'an http(s) URL without query or fragment, or empty (SSO off)',
    }),
    client_id: string({ doc: "The gateway's client id at the provider.", default: '', pattern: /^.{0,256}$/ }),
    client_secret_file: string({
      doc: 'File holding the client secret (mode 0600); empty with no secret in the environment: a public client.',
      default: '',
      pattern: /^.{0,4096}$/,
      describe: 'a file path',
    }),
    client_secret: string({
      doc: 'The client secret given directly (environment only: PARALLAMA_AUTH__OIDC__CLIENT_SECRET); overrides the file.',
      default: '',
      secret: true,
    }),
    redirect_url: string({
      doc: "This gateway's callback as the browser reaches it, registered at the provider (https://gw.example.com/auth/v1/oidc/callback).",
      default: '',
      pattern: /^$|^https?:\/\/[^\s?#]+\/auth\/v1\/oidc\/callback$/,
      describe: 'an http(s) URL ending in /auth/v1/oidc/callback',
    }),
    scopes: wordList({
      doc: 'Scopes asked for (openid is always asked).',
      default: ['openid', 'profile', 'email'],
      word: /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/,
      describe: 'scope names',
    }),
    username_claims: wordList({
      doc: 'Claims tried in order for the username of a user created at first sign-in (an email keeps its local part).',
      default: ['preferred_username', 'email'],
      word: /^[A-Za-z0-9_:./-]{1,128}$/,
      describe: 'claim names',
    }),
    groups_claim: string({
      doc: "The claim holding the user's groups (a list of names; a dotted path reaches into objects: realm_access.roles).",
      default: 'groups',
      pattern: /^[A-Za-z0-9_:/-]{1,128}(\.[A-Za-z0-9_:/-]{1,128}){0,4}$/,
      describe: 'a claim name or dotted path',
    }),
    role_map: roleMap,
    default_role: oneOf({
      doc: 'Role of a user none of whose groups is in role_map (none: such a user may not sign in).',
      default: 'none',
      values: ['none', ...roles],
    }),
    allowed_domains: wordList({
      doc: 'Email domains allowed to sign in (the email claim, verified); empty: any.',
      default: [],
      word: /^[a-z0-9.-]{1,253}$/,
      describe: 'lower-case domain names',
    }),
    audience: string({
      doc: 'The aud an IdP access token must carry to be accepted as an API credential (empty: the client id).',
      default: '',
      pattern: /^.{0,256}$/,
    }),
    accept_access_tokens: boolean({
      doc: "Accept the provider's JWT access tokens as API credentials (Authorization: Bearer), mapped to the linked user.",
      default: true,
    }),
    jwks_refresh: duration({
      doc: "How often the provider's signing keys are read again (an unknown key id also reads them, at most every jwks_min_refetch).",
      default: 600_000,
      min: 10_000,
    }),
    jwks_min_refetch: duration({
      doc: 'The shortest time between two reads of the signing keys caused by unknown key ids.',
      default: 10_000,
      min: 1000,
    }),
    clock_skew: duration({ doc: 'Tolerated clock difference on exp and nbf of IdP tokens.', default: 30_000, min: 0 }),
  },
)

/** One weight per role (the roles of src/auth/permissions.ts): an unknown role is refused as an unknown key. */
const roleWeights = section(
  "Each role's weight under contention (a user's own weight, `parallama user set-weight`, multiplies it).",
  Object.fromEntries(
    roles.map((role) => [
      role,
      decimal({ doc: `Weight of the ${role} role.`, default: 1, min: minWeight, max: maxWeight }),
    ]),
  ) as Record<Role, LeafNode<number>>,
)

/** TLS on the gateway itself (docs/security.md "TLS on the gateway"): both files set turns it on. */
const tls = section(
  'TLS on the gateway itself, for a box with no proxy in front: set cert_file and key_file. TLS 1.2 and 1.3 only (the uWS build refuses 1.0 and 1.1). Files are read at start and again on every reload (SIGHUP): the new certificate serves new connections, open ones keep theirs.',
  {
    cert_file: string({
      doc: 'PEM certificate chain: the server certificate first, then its intermediates.',
      default: '',
      pattern: /^$|^\/\S+$/,
      describe: 'an absolute path',
    }),
    key_file: string({
      doc: 'PEM private key of the certificate; must be mode 0600 or 0400 (no group or other bits), owned by the service user.',
      default: '',
      pattern: /^$|^\/\S+$/,
      describe: 'an absolute path',
    }),
    passphrase_file: string({
      doc: 'File holding the passphrase of an encrypted key_file (first line); mode 0600 like the key. Empty: the key is not encrypted, or the passphrase comes from PARALLAMA_SERVER__TLS__PASSPHRASE.',
      default: '',
      pattern: /^$|^\/\S+$/,
      describe: 'an absolute path',
    }),
    passphrase: string({
      doc: "The key's passphrase given directly (environment only: PARALLAMA_SERVER__TLS__PASSPHRASE); overrides passphrase_file.",
      default: '',
      secret: true,
    }),
    ciphers: string({
      doc: 'TLS 1.2 cipher suites (OpenSSL/BoringSSL list syntax); TLS 1.3 suites are fixed by the library. The default keeps forward-secret AEAD suites only.',
      default: 'ECDHE+AESGCM:ECDHE+CHACHA20',
      pattern: /^[A-Za-z0-9+:!@_=.-]{1,1000}$/,
      describe: 'a cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20',
    }),
    low_memory: boolean({
      doc: "Release each idle TLS connection's read and write buffers (about 34 KiB each; SSL_MODE_RELEASE_BUFFERS): less memory with many idle clients, a little more CPU per read.",
      default: false,
    }),
    hsts: duration({
      doc: 'With TLS on, the Strict-Transport-Security max-age sent on every response (no includeSubDomains). Browsers then refuse plain HTTP to this host name on every port for that long. 0: no header.',
      default: 31_536_000_000,
      min: 0,
      zeroMeansNone: true,
    }),
  },
)

export const schema = section('Parallama configuration.', {
  server: section('Where the gateway listens.', {
    host: string({
      restart: true,
      doc: 'Address to listen on (127.0.0.1 for local only, 0.0.0.0 or :: for all interfaces).',
      default: '127.0.0.1',
      pattern: /^[0-9A-Za-z.:_-]{1,255}$/,
      describe: 'an IP address or host name',
    }),
    port: integer({
      restart: true,
      doc: 'TCP port to listen on (0 picks a free port, which the log reports).',
      default: 11435,
      min: 0,
      max: 65535,
    }),
    drain_timeout: duration({
      doc: 'On SIGTERM, how long requests in flight (streams too) may run on before they are ended.',
      default: 30_000,
      min: 0,
    }),
    max_header_bytes: bytes({
      restart: true,
      doc: 'Largest request line and headers accepted (431 past it). The uWS build in use also closes, unanswered, a head that arrives in several reads and passes 4 KiB, whatever this says: see docs/http.md.',
      default: 16384,
      min: 4096,
      max: 1048576,
    }),
    allow_js_fallback: boolean({
      restart: true,
      doc: 'Start even if the native uWebSockets binary cannot load, on its much slower pure-JS fallback.',
      default: false,
    }),
    tls: tls,
    allow_ip: string({
      doc: 'Client addresses (comma-separated CIDR) that may use the gateway at all; empty = every address. Others get 403 address_not_allowed before any credential work or limit (the probes /health and /ready excepted). `parallama serve --allow-ip` sets it too.',
      default: '',
      pattern: /^[0-9a-fA-F.:/, ]*$/,
      describe: 'comma-separated address ranges, such as 10.0.0.0/8,::1/128',
    }),
    trusted_proxies: string({
      doc: 'Proxies (comma-separated CIDR) whose forwarding header names the real client; empty = none. From anyone else the header is ignored. The chain is read from the right, past every trusted hop, to the first address no trusted proxy wrote.',
      default: '',
      pattern: /^[0-9a-fA-F.:/, ]*$/,
      describe: 'comma-separated address ranges, such as 10.0.0.0/8,::1/128',
    }),
    forwarded_header: oneOf({
      doc: 'Which header the trusted proxies write: x-forwarded-for (nginx, HAProxy, most load balancers) or forwarded (RFC 7239). Only that one is read: a proxy passes the other on from the client unchanged.',
      default: 'x-forwarded-for',
      values: ['x-forwarded-for', 'forwarded'] as const,
    }),
  }),
  backends: list(
    'The Ollama servers behind the gateway; a request goes to a healthy one that has its model loaded (else installed), the least busy first.',
    backend,
    { default: [{ url: 'http://127.0.0.1:11434' }], minItems: 1, envShorthandField: 'url' },
  ),
  timeouts: section('Upstream timeouts.', {
    connect: duration({ doc: 'Time to open a TCP connection to a backend.', default: 5000, min: 1 }),
    first_byte: duration({
      doc: 'Time from sending a request until the response headers arrive (loading a model counts; a non-streamed reply arrives whole).',
      default: 600_000,
      min: 1,
    }),
    idle: duration({ doc: 'Longest silence between two chunks of a streamed response.', default: 120_000, min: 1 }),
    total: duration({
      doc: 'Longest a whole request may take (a large pull can take hours).',
      default: 0,
      zeroMeansNone: true,
    }),
  }),
  limits: section('Request limits (rate limits per key, user, role or default are set with `parallama limit set`).', {
    default_token_estimate: integer({
      doc: 'Tokens a request is assumed to generate when it does not say (num_predict): reserved from token limits at admission, settled to the real count when it ends.',
      default: 512,
      min: 1,
      max: 1_000_000,
    }),
    max_body_bytes: bytes({
      doc: 'Largest request body (JSON with base64 images). Blob uploads stream and are not limited by this.',
      default: 64 * 1024 * 1024,
      min: 1024,
      max: 1024 * 1024 * 1024,
    }),
  }),
  upstream: section('Connections to the backends.', {
    connections: integer({
      restart: true,
      doc: 'Most connections to each backend, so most requests in flight to it; more wait in the gateway. Ollama queues what it cannot run yet (OLLAMA_MAX_QUEUE), so this only needs to stay above the streams you expect at once.',
      default: 1024,
      min: 1,
      max: 65535,
    }),
    keep_alive_timeout: duration({
      restart: true,
      doc: "How long an idle upstream connection is kept; keep it below the backend's own idle timeout.",
      default: 4000,
      min: 1,
    }),
    retries: integer({
      doc: "How many more backends a request is tried on when one fails before anything reached the client (refused or reset connection, no response within timeouts.first_byte, a 5xx such as Ollama's 503 busy).",
      default: 2,
      min: 0,
      max: 10,
    }),
    eject_after: integer({
      doc: 'Consecutive failures after which a backend is ejected: it takes no traffic for eject_cooldown while another backend can.',
      default: 2,
      min: 1,
      max: 1000,
    }),
    eject_cooldown: duration({
      doc: 'How long a backend stays ejected the first time; it doubles with each ejection in a row, and one request then probes it.',
      default: 5000,
      min: 1,
    }),
    eject_cooldown_max: duration({
      doc: 'The longest an ejection lasts however often it doubled (below eject_cooldown: no doubling).',
      default: 300_000,
      min: 1,
    }),
  }),
  scheduler: section(
    'The queue the gateway holds while every backend that can serve a model is busy (docs/scheduling.md).',
    {
      policy: oneOf({
        doc: 'Who goes next when a slot frees: fair (the waiting user who has had the least service, by weight) or fifo (the oldest request).',
        default: 'fair',
        values: ['fair', 'fifo'],
      }),
      max_queue: integer({
        doc: "Requests waiting at most, all models together; past it a request gets 503 queue_full (Ollama's OLLAMA_MAX_QUEUE is 512 too).",
        default: 512,
        min: 1,
        max: 1_000_000,
      }),
      max_wait: duration({
        doc: 'Longest a request waits for a slot; past it, 503 queue_timeout.',
        default: 300_000,
        min: 1,
      }),
      weights: roleWeights,
    },
  ),
  database: section(
    'The SQLite file that holds users, keys, sessions and usage.',
    {
      path: string({
        doc: 'Database file; created 0600 with its folder if missing.',
        default: '/var/lib/parallama/parallama.db',
        pattern: /^.+$/,
        describe: 'a file path',
      }),
      migrate_on_start: boolean({
        doc: 'Apply pending schema migrations at start-up (else start-up refuses an out-of-date database).',
        default: true,
      }),
      busy_timeout: duration({
        doc: 'How long a write waits for another process (the CLI) holding the write lock.',
        default: 5000,
        min: 1,
      }),
      backup_dir: string({
        doc: "Folder for scheduled online backups (parallama-<time>.db, verified, written atomically); '' for none.",
        default: '',
        pattern: /^.*$/,
        describe: 'a folder path, or empty',
      }),
      backup_interval: duration({ doc: 'How often the scheduled backup runs.', default: 86_400_000, min: 60_000 }),
      backup_keep: integer({
        doc: 'How many scheduled backups are kept (the oldest go).',
        default: 7,
        min: 1,
        max: 1000,
      }),
    },
    { restart: true },
  ),
  auth: section(
    'Credentials: API keys and login sessions.',
    {
      key_cache_size: integer({ doc: 'API keys kept verified in memory.', default: 100_000, min: 1, max: 10_000_000 }),
      key_cache_ttl: duration({
        doc: 'How long a verified key is trusted before it is read again (changes made through the CLI apply sooner, through the change feed).',
        default: 300_000,
        min: 1000,
      }),
      negative_cache_size: integer({
        doc: 'Unknown keys remembered, so a flood of wrong keys does not reach the database.',
        default: 10_000,
        min: 1,
        max: 1_000_000,
      }),
      negative_cache_ttl: duration({ doc: 'How long an unknown key is remembered.', default: 60_000, min: 1000 }),
      rotation_grace: duration({
        doc: 'How long a rotated key keeps working beside its successor (0 = it stops at once).',
        default: 86_400_000,
        zeroMeansNone: true,
      }),
      signature_skew: duration({
        doc: "How far a signed request's x-parallama-timestamp may be from the gateway's clock, either way (docs/signing.md); a signature is remembered this long to refuse its replay. A reload may narrow it; widening it takes a restart (signatures are remembered for the window the gateway started with).",
        default: 300_000,
        min: 1000,
      }),
      signature_replay_cache: integer({
        restart: true,
        doc: 'Signatures remembered to refuse replays (about 150 bytes each). Full (more signed requests within the skew window than this), a new signed request is refused with 503 signature_cache_full rather than an old signature forgotten.',
        default: 250_000,
        min: 1000,
        max: 10_000_000,
      }),
      change_poll: duration({
        doc: 'How often the server looks for credential changes made by other processes (the CLI).',
        default: 250,
        min: 10,
      }),
      last_used_flush: duration({
        doc: 'How often key last-use times are written, in one batch.',
        default: 60_000,
        min: 1000,
      }),
      jwt_secret_file: string({
        doc: 'File of login-token signing secrets, one per line, the first signing (the others still verify, for rotation); generated 0600 on first start if missing.',
        default: '/var/lib/parallama/jwt.key',
        pattern: /^.+$/,
        describe: 'a file path',
      }),
      jwt_secret: string({
        doc: 'A signing secret given directly (environment only: PARALLAMA_AUTH__JWT_SECRET); overrides the file.',
        default: '',
        secret: true,
      }),
      access_token_ttl: duration({ doc: 'Lifetime of a login access token (JWT).', default: 900_000, min: 1000 }),
      refresh_token_ttl: duration({ doc: 'Lifetime of a login refresh token.', default: 30 * 86_400_000, min: 60_000 }),
      token_issuer: string({
        doc: 'The iss claim of access tokens, checked on each.',
        default: 'parallama',
        pattern: /^.{1,200}$/,
      }),
      token_audience: string({
        doc: 'The aud claim of access tokens, checked on each.',
        default: 'parallama',
        pattern: /^.{1,200}$/,
      }),
      login_max_failures: integer({
        doc: 'Failed logins (per username, and per client address) before each further attempt waits, doubling.',
        default: 5,
        min: 1,
        max: 1000,
      }),
      login_max_backoff: duration({
        doc: 'The longest wait after repeated failed logins.',
        default: 900_000,
        min: 1000,
      }),
      oidc,
    },
    { restart: true },
  ),
  usage: section('Usage accounting: one row per request, hourly rollups, cost.', {
    flush_interval: duration({
      restart: true,
      doc: 'How often recorded requests are written, in one transaction (a crash loses at most this window).',
      default: 100,
      min: 10,
    }),
    flush_rows: integer({
      restart: true,
      doc: 'Write early once this many rows are waiting.',
      default: 2000,
      min: 1,
      max: 100_000,
    }),
    retention: duration({
      restart: true,
      doc: 'How long per-request rows are kept (hourly rollups are kept); 0 = forever.',
      default: 90 * 86_400_000,
      zeroMeansNone: true,
    }),
    currency: string({
      doc: 'Currency of the prices, as shown with costs.',
      default: 'USD',
      pattern: /^[A-Z]{3}$/,
      describe: 'a 3-letter currency code',
    }),
    default_prompt_price: decimal({
      doc: 'Price per million prompt tokens of a model with no entry in prices.',
      default: 0,
      min: 0,
      max: 1e6,
    }),
    default_completion_price: decimal({
      doc: 'Price per million completion tokens of a model with no entry in prices.',
      default: 0,
      min: 0,
      max: 1e6,
    }),
    prices: list(
      'Per-model prices per million tokens; model is an exact name or a family:* pattern, the first match wins.',
      price,
      { default: [], minItems: 0, envShorthandField: 'model' },
    ),
  }),
  validation: section("Request validation: bodies checked against the API's request schemas (docs/validation.md).", {
    ollama: oneOf({
      doc: 'The native API (/api): strict (the whole request schema: types, required fields, enums, ranges, messages, tools), basic (the types of the top-level fields only) or off (only the fields the gateway reads itself: model, stream, num_predict).',
      default: 'strict',
      values: validationModes,
    }),
    openai: oneOf({
      doc: 'The OpenAI-style API (/v1): strict, basic or off, as for ollama.',
      default: 'strict',
      values: validationModes,
    }),
    full_parse_max_bytes: bytes({
      doc: 'Largest body validated against its schema (parsed whole on the event loop); a larger one (images, long histories) is checked only on the fields the gateway reads, which never needs a full parse.',
      default: 256 * 1024,
      min: 0,
      max: 64 * 1024 * 1024,
    }),
  }),
  models: section('Model names as clients see them.', {
    aliases: list(
      'Aliases applied to requests on both APIs before allow-lists, limits and accounting, which all see the real model.',
      alias,
      { default: [], minItems: 0, envShorthandField: 'alias' },
    ),
    answer_with_alias: boolean({
      doc: 'Replies to a request that used an alias name the alias in their model field, as the client asked.',
      default: true,
    }),
  }),
  batch: section('The OpenAI Batch API (/v1/files, /v1/batches; docs/batches.md).', {
    files_dir: string({
      doc: "Folder for uploaded and result files, created 0700; '' for a `files` folder beside the database file.",
      default: '',
      restart: true,
    }),
    max_file_bytes: bytes({
      doc: 'The largest file an upload may be; a larger one is refused 413 (file_too_large) and nothing is kept.',
      default: 200 * 1024 * 1024,
      min: 1024,
      max: 16 * 1024 * 1024 * 1024,
    }),
    max_in_flight: integer({
      doc: 'Batch lines the gateway runs at once (over every batch); they wait for idle slots at low priority.',
      default: 4,
      min: 1,
      max: 1024,
    }),
    pause_on_limit: duration({
      doc: "How long a batch waits after its owner's rate limit or quota refused a line (429) before it tries again.",
      default: 30000,
      min: 100,
    }),
    interactive_reserve_window: duration({
      doc: "Batch lines leave free as many slots as a model's interactive requests ran at once within this time; 0: none.",
      default: 5000,
      min: 0,
    }),
  }),
  metrics: section('Prometheus metrics at GET /metrics, and the health checks.', {
    enabled: boolean({ restart: true, doc: 'Serve /metrics and count requests for it.', default: true }),
    allow_from: string({
      doc: 'Client addresses (comma-separated CIDR) that may scrape /metrics without a credential; others need view_metrics.',
      default: '127.0.0.1/32,::1/128',
      pattern: /^[0-9a-fA-F.:/, ]*$/,
      describe: 'comma-separated address ranges, such as 10.0.0.0/8,::1/128',
    }),
    key_labels: boolean({
      restart: true,
      doc: 'Label request counts with user and key ids too (one series per key: mind the cardinality).',
      default: false,
    }),
    backend_check_interval: duration({
      restart: true,
      doc: 'How often each backend is asked for /api/version (/ready needs one that answered within 3 intervals), and for its installed (/api/tags) and loaded (/api/ps) models.',
      default: 5000,
      min: 100,
    }),
  }),
  alerts: section(
    'Quota alerts: once per threshold and period, logged, counted, sent as quota.threshold events.',
    {
      thresholds: string({
        doc: 'Percentages of a daily or monthly quota (of a key or a user) that raise an alert.',
        default: '80,100',
        pattern: /^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$/,
        describe: 'comma-separated percentages such as 80,100',
      }),
      webhook_url: string({
        doc: "Deprecated (use 'parallama webhook add URL --events quota.threshold'): a webhook for quota.threshold events, kept in step at start-up; '' for none.",
        default: '',
        // No user:password@ (an @ before the path): deliveries would not carry them, `webhook list` would show them.
        pattern: /^(https?:\/\/[^\s/?#@]+([/?#]\S*)?)?$/,
        describe: 'an http:// or https:// URL without credentials, or empty',
      }),
      webhook_secret: string({
        doc: 'Deprecated: webhook_url deliveries are signed with its bytes as the whsec_ key, and also carry the old x-parallama-signature header (environment only: PARALLAMA_ALERTS__WEBHOOK_SECRET).',
        default: '',
        secret: true,
      }),
      retries: integer({ doc: 'Deprecated and ignored: see webhooks.max_attempts.', default: 5, min: 0, max: 20 }),
      retry_delay: duration({
        doc: 'Deprecated and ignored: see webhooks.retry_delay.',
        default: 1000,
        min: 1,
      }),
      timeout: duration({ doc: 'Deprecated and ignored: see webhooks.timeout.', default: 5000, min: 1 }),
    },
    { restart: true },
  ),
  webhooks: section(
    'Webhook deliveries (docs/webhooks.md): a durable outbox, retried with back-off, then dead-lettered.',
    {
      timeout: duration({ doc: 'How long one delivery attempt may take.', default: 10_000, min: 1 }),
      retry_for: duration({
        doc: 'How long after its event a failed delivery is still tried again; then it is dead-lettered.',
        default: 86_400_000,
        min: 1,
      }),
      max_attempts: integer({
        doc: 'The most attempts per delivery (then dead-lettered).',
        default: 50,
        min: 1,
        max: 1000,
      }),
      retry_delay: duration({
        doc: 'Wait before the first retry; doubled each time, with jitter.',
        default: 5000,
        min: 1,
      }),
      max_retry_delay: duration({ doc: 'The longest wait between two attempts.', default: 3_600_000, min: 1 }),
      poll_interval: duration({
        doc: 'How often the outbox is looked at for due retries (new events are sent at once).',
        default: 1000,
        restart: true,
        min: 10,
      }),
      concurrency: integer({ doc: 'Deliveries in flight at once.', default: 4, min: 1, max: 100 }),
      request_failed_interval: duration({
        doc: 'At most one request.failed event per error and backend in this time; the failures held back are counted in the next (0: one event per failure).',
        default: 10_000,
        zeroMeansNone: true,
      }),
      keep: duration({
        doc: 'How long delivered and dead-lettered deliveries stay listed.',
        default: 604_800_000,
        min: 1,
      }),
      key_expiry_check: duration({
        doc: 'How often keys past their expiry are looked for (key.expired).',
        default: 60_000,
        restart: true,
        min: 100,
      }),
    },
  ),
  plugins: list(
    'Plugins, called in this order (docs/plugins.md); reloaded on SIGHUP, a reload that fails keeps the running ones.',
    plugin,
    { default: [], minItems: 0, envShorthandField: 'module' },
  ),
  audit: section('The tamper-evident audit log of changes and sensitive reads (docs/security.md).', {
    retention: duration({
      doc: 'How long audit rows are kept (separate from usage.retention); older rows are pruned hourly, leaving an anchor the chain is verified from; 0 = forever.',
      default: 400 * 86_400_000,
      zeroMeansNone: true,
    }),
    signing_key_file: string({
      doc: 'The Ed25519 private key (PEM, mode 0600) that signs `parallama audit checkpoint`; make one with `parallama audit keygen --out FILE`. Empty: checkpoints need --key.',
      default: '',
      pattern: /^(\/.*|[^/].*)?$/,
      describe: 'a file path, or empty',
    }),
  }),
  cache: section('The response cache: exact-match replies replayed without a backend (docs/cache.md).', {
    enabled: boolean({
      restart: true,
      doc: 'Cache replies of the generating and embedding routes (a hit answers without a backend).',
      default: false,
    }),
    scope: oneOf({
      doc: "Whose replies a request may be answered with: its own user's (user), or anyone's (global).",
      default: 'user',
      values: ['user', 'global'],
    }),
    policy: oneOf({
      doc: 'What is cached: deterministic requests only (temperature 0 or a seed set) and embeddings, or every request of the cacheable routes (all).',
      default: 'deterministic',
      values: ['deterministic', 'all'],
    }),
    all_routes: string({
      doc: 'Routes (`<api>.<name>`, comma-separated, e.g. `openai.chat_completions`) whose every request is cached, as if policy were all.',
      default: '',
      pattern: /^[a-z_., ]*$/,
      describe: 'comma-separated route ids such as ollama.chat,openai.chat_completions',
    }),
    all_roles: string({
      doc: 'Roles (comma-separated) whose every request is cached, as if policy were all.',
      default: '',
      pattern: /^[a-z_, ]*$/,
      describe: 'comma-separated roles such as user,service',
    }),
    all_keys: string({
      doc: 'API key ids (comma-separated, as `parallama key list` shows them) whose every request is cached, as if policy were all.',
      default: '',
      pattern: /^[a-z2-7, ]*$/,
      describe: 'comma-separated key ids such as abcdefgh2345',
    }),
    ttl: duration({ doc: 'How long an entry answers after it was stored.', default: 3_600_000, min: 1000 }),
    max_bytes: bytes({
      restart: true,
      doc: 'Bytes of replies the in-memory tier holds at most; the least recently used go first.',
      default: 64 * 1024 * 1024,
      min: 64 * 1024,
      max: 64 * 1024 * 1024 * 1024,
    }),
    max_entry_bytes: bytes({
      doc: 'The largest reply stored (and the largest request body keyed): bigger ones bypass the cache.',
      default: 1024 * 1024,
      min: 1024,
      max: 256 * 1024 * 1024,
    }),
    count_tokens: boolean({
      doc: "A hit's tokens count against the caller's token limits and quotas (by default a hit costs no token).",
      default: false,
    }),
    persist: boolean({
      restart: true,
      doc: 'Keep entries in the database too (table cache_entries), so they survive a restart.',
      default: false,
    }),
    persist_max_bytes: bytes({
      restart: true,
      doc: 'Bytes of replies the persistent tier holds at most; the oldest go first.',
      default: 256 * 1024 * 1024,
      min: 64 * 1024,
      max: 1024 * 1024 * 1024 * 1024,
    }),
  }),
  log: section('Logging (JSON lines on stdout, for journald).', {
    level: oneOf({
      doc: 'Least severe level written.',
      default: 'info',
      values: ['debug', 'info', 'warn', 'error', 'silent'],
    }),
    requests: boolean({
      doc: 'One info line per request: id, user and key id (never the key), route, model, status, tokens, durations.',
      default: true,
    }),
  }),
})

export type Config = Infer<typeof schema>
export type BackendConfig = Config['backends'][number]
