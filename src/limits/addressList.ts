// Address allow-lists (the gateway's `server.allow_ip`, a key's or a user's `allow_ip`) and the trusted proxies: a list
// of CIDR ranges parsed once (parseRange, the same parser as address limit rules) into one BlockList, then checked per
// request. node:net's BlockList matches IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) against IPv4 ranges and back.
import { BlockList, isIP } from 'node:net'
import { parseRange } from './rules.js'

/** Most ranges one list may hold (a key's, a user's, the gateway's). */
export const maxAddressRanges = 100

/** Answers remembered per list: clients repeat, and BlockList.check costs about a microsecond (a native call). */
const rememberedAnswers = 10_000

export class AddressList {
  private readonly answers = new Map<string, boolean>()

  private constructor(
    private readonly blocks: BlockList,
    /** The ranges as given (normalised: trimmed, no empties), for views and comparison. */
    readonly ranges: readonly string[],
  ) {}

  /** A list from ranges already checked (`checkRanges`); an unparsable range is skipped (fails closed: it allows nothing). */
  static of(ranges: readonly string[]): AddressList {
    const blocks = new BlockList()
    for (const text of ranges) {
      const parsed = parseRange(text)
      if (!parsed) continue
      const address = text.split('/')[0]!
      blocks.addSubnet(address, parsed.prefix, address.includes(':') ? 'ipv6' : 'ipv4')
    }
    return new AddressList(blocks, ranges)
  }

  /** Whether `address` (an IPv4 or IPv6 address as text) is in one of the ranges; anything else is not. */
  has(address: string): boolean {
    let answer = this.answers.get(address)
    if (answer === undefined) {
      answer = this.blocks.check(address, address.includes(':') ? 'ipv6' : 'ipv4')
      // Bounded: many distinct addresses (an IPv6 sweep) only cost the native check again.
      if (this.answers.size >= rememberedAnswers) this.answers.clear()
      this.answers.set(address, answer)
    }
    return answer
  }
}

/** Comma-separated ranges (`10.0.0.0/8, ::1`) as a list of trimmed, non-empty parts. */
export function splitRanges(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

/** The first range that is not a CIDR range or an address, or a message about the count; undefined when all are. */
export function rangeProblem(ranges: readonly string[]): string | undefined {
  if (ranges.length > maxAddressRanges) return `${ranges.length} address ranges, at most ${maxAddressRanges}`
  const bad = ranges.find((range) => parseRange(range) === undefined)
  return bad === undefined ? undefined : `"${bad.slice(0, 64)}" is not an address range such as 10.0.0.0/8 or ::1/128`
}

/**
 * A list kept in step with a config value that a reload may change: parsed again only when the text changed (the
 * config object is replaced on reload; the same text keeps its parsed list).
 */
export function liveAddressList(read: () => string): () => AddressList | undefined {
  let text: string | undefined
  let list: AddressList | undefined
  return () => {
    const now = read()
    if (now !== text) {
      text = now
      const ranges = splitRanges(now)
      list = ranges.length === 0 ? undefined : AddressList.of(ranges)
    }
    return list
  }
}

/**
 * The trusted proxies as the request snapshot reads them (src/http/clientAddress.ts), kept in step with the config:
 * the same object while neither the ranges nor the header change (undefined when there are none).
 */
export function liveTrustedProxies<H extends string>(
  read: () => { ranges: string; header: H },
): () => { has(address: string): boolean; header: H } | undefined {
  const list = liveAddressList(() => read().ranges)
  let made: { list: AddressList; header: H; trusted: { has(address: string): boolean; header: H } } | undefined
  return () => {
    const current = list()
    if (current === undefined) return undefined
    const header = read().header
    if (made?.list !== current || made.header !== header) {
      made = { list: current, header, trusted: { has: (address) => current.has(address), header } }
    }
    return made.trusted
  }
}

/** A range parsed for judging what it takes in (undefined when it is not a range). */
function judged(range: string): { address: string; family: 4 | 6; prefix: number } | undefined {
  const parsed = parseRange(range)
  const address = range.split('/')[0]!
  return parsed && { address, family: isIP(address) === 4 ? 4 : 6, prefix: parsed.prefix }
}

const loopback = AddressList.of(['127.0.0.0/8', '::1/128'])
const ipv4Mapped = AddressList.of(['::ffff:0:0/96'])

/**
 * Whether a range holds loopback addresses only. Judged by its address and its prefix together, never by how its text
 * begins: 127.0.0.1/0 is every address. An IPv4-mapped range needs the 96 mapping bits on top of the 8.
 */
export function loopbackOnlyRange(range: string): boolean {
  const parsed = judged(range)
  if (parsed === undefined || !loopback.has(parsed.address)) return false
  if (parsed.family === 4) return parsed.prefix >= 8
  return parsed.prefix >= (ipv4Mapped.has(parsed.address) ? 104 : 128)
}

/** Whether a range holds every IPv4 or every IPv6 address: any /0 (whatever address it is written from), or ::ffff:0:0/96. */
export function everyAddressRange(range: string): boolean {
  const parsed = judged(range)
  if (parsed === undefined) return false
  return parsed.prefix === 0 || (parsed.family === 6 && ipv4Mapped.has(parsed.address) && parsed.prefix <= 96)
}
