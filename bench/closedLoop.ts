// Closed-loop streaming clients for the scheduling bench: each of a user's connections sends a streamed generate,
// reads it to the end and sends the next, until the deadline, when whatever is still in flight is aborted. Per user:
// each request's wait (send → first body byte, the time to first token) and the tokens that arrived before the deadline.
import { setMaxListeners } from 'node:events'
import { Agent, request } from 'undici'

export interface LoopUser {
  name: string
  /** Requests this user keeps in flight at once. */
  concurrency: number
  authorization: string
  model: string
}

export interface UserTally {
  name: string
  model: string
  /** Requests that got their first token before the deadline. */
  started: number
  completed: number
  tokens: number
  /** Milliseconds from send to first body byte, one per started request. */
  waitsMs: number[]
  /** Milliseconds from first body byte to the end, one per completed request: what holding the slot took. */
  servicesMs: number[]
  errors: number
}

/** Runs every user's loops against `url` for `seconds`; resolves when all loops have stopped. */
export async function runClosedLoops(url: string, users: LoopUser[], seconds: number): Promise<UserTally[]> {
  const connections = users.reduce((sum, user) => sum + user.concurrency, 0)
  // One connection per loop: a shared pool smaller than the loops would queue requests in the client, not the server.
  const dispatcher = new Agent({ connections, pipelining: 1 })
  const stop = new AbortController()
  // Every in-flight request listens on the one deadline signal.
  setMaxListeners(connections * 2, stop.signal)
  const deadline = setTimeout(() => stop.abort(), seconds * 1000)
  const tallies = users.map((user) => emptyTally(user))
  try {
    await Promise.all(
      users.flatMap((user, index) =>
        Array.from({ length: user.concurrency }, () => loop(url, user, tallies[index]!, dispatcher, stop.signal)),
      ),
    )
  } finally {
    clearTimeout(deadline)
    await dispatcher.close()
  }
  return tallies
}

function emptyTally(user: LoopUser): UserTally {
  return {
    name: user.name,
    model: user.model,
    started: 0,
    completed: 0,
    tokens: 0,
    waitsMs: [],
    servicesMs: [],
    errors: 0,
  }
}

async function loop(url: string, user: LoopUser, tally: UserTally, dispatcher: Agent, signal: AbortSignal) {
  const body = JSON.stringify({ model: user.model, prompt: 'Why is the sky blue?', stream: true })
  while (!signal.aborted) {
    try {
      await oneRequest(url, user, body, tally, dispatcher, signal)
    } catch {
      if (signal.aborted) return
      tally.errors++
      // A refused request (queue full, a backend gone) must not turn the loop into a busy spin.
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

async function oneRequest(
  url: string,
  user: LoopUser,
  body: string,
  tally: UserTally,
  dispatcher: Agent,
  signal: AbortSignal,
): Promise<void> {
  const sent = performance.now()
  const response = await request(`${url}/api/generate`, {
    method: 'POST',
    body,
    headers: { authorization: user.authorization, 'content-type': 'application/json' },
    dispatcher,
    signal,
  })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`status ${response.statusCode}`)
  }
  let firstByte = 0
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    if (firstByte === 0) {
      firstByte = performance.now()
      tally.waitsMs.push(firstByte - sent)
      tally.started++
    }
    tally.tokens += tokenLines(chunk)
  }
  tally.servicesMs.push(performance.now() - firstByte)
  tally.completed++
}

const newline = 10

/** Lines in a piece of an NDJSON stream that carry a token: every line but the final `"done":true` object. */
function tokenLines(chunk: Buffer): number {
  let lines = 0
  for (let index = chunk.indexOf(newline); index !== -1; index = chunk.indexOf(newline, index + 1)) lines++
  return lines - (chunk.includes('"done":true') ? 1 : 0)
}
