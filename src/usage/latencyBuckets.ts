// The latency histogram of the usage series (migration 010): fixed log-spaced buckets, so that histograms of any
// hours, users or minutes add up bucket by bucket and a percentile of the sum is as good as one of the raw rows —
// within a bucket's width (a factor of √2, about ±19 %; interpolation inside the bucket narrows it in practice).

/** Buckets per histogram; bucket i holds [2^(i/2), 2^((i+1)/2)) ms, the first everything below, the last the rest. */
export const latencyBucketCount = 40
/** Bytes of a stored histogram: one little-endian uint32 per bucket. */
export const latencyBytes = latencyBucketCount * 4

export function latencyBucket(ms: number): number {
  if (!(ms >= 1)) return 0
  return Math.min(latencyBucketCount - 1, Math.floor(2 * Math.log2(ms)))
}

/** Lower bound of bucket i in ms (bucket 0 starts at 0). */
function lowerBound(bucket: number): number {
  return bucket === 0 ? 0 : 2 ** (bucket / 2)
}

export function emptyLatency(): Uint32Array {
  return new Uint32Array(latencyBucketCount)
}

/** A stored histogram as the database keeps it (a Buffer over the same bytes, little-endian on every platform). */
export function latencyBlob(counts: Uint32Array): Buffer {
  const blob = Buffer.alloc(latencyBytes)
  for (let i = 0; i < latencyBucketCount; i++) blob.writeUInt32LE(counts[i]!, i * 4)
  return blob
}

/** Adds a stored histogram into `into`; a blob of another size (never written by us) adds nothing. */
export function addLatencyBlob(into: Uint32Array, blob: Uint8Array): void {
  if (blob.length !== latencyBytes) return
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
  for (let i = 0; i < latencyBucketCount; i++) into[i]! += view.getUint32(i * 4, true)
}

/** The sum of two stored histograms: the SQL function the writer's upsert adds with (UsageStore). */
export function sumLatencyBlobs(a: Uint8Array, b: Uint8Array): Buffer {
  const sum = emptyLatency()
  addLatencyBlob(sum, a)
  addLatencyBlob(sum, b)
  return latencyBlob(sum)
}

/**
 * The q-quantile (0..1) in ms, interpolated log-linearly inside its bucket; null for an empty histogram. The open last
 * bucket answers its lower bound (all we know is "at least").
 */
export function latencyQuantile(counts: Uint32Array, q: number): number | null {
  let total = 0
  for (let i = 0; i < latencyBucketCount; i++) total += counts[i]!
  if (total === 0) return null
  const rank = q * total
  let below = 0
  for (let i = 0; i < latencyBucketCount; i++) {
    const count = counts[i]!
    if (count > 0 && below + count >= rank) {
      if (i === latencyBucketCount - 1) return lowerBound(i)
      const within = Math.max(0, Math.min(1, (rank - below) / count))
      const low = lowerBound(i)
      const high = 2 ** ((i + 1) / 2)
      // Bucket 0 spans 0..√2 ms: linear there; geometric elsewhere, as the buckets are.
      return i === 0 ? high * within : low * (high / low) ** within
    }
    below += count
  }
  return lowerBound(latencyBucketCount - 1)
}
