// The users waiting for one model, lowest first: by virtual counter under `fair` (ties: whose oldest request came
// first), by oldest request alone under `fifo`. A binary heap whose entries remember their index, so a user whose
// counter or head request changed is moved in O(log users) instead of searched for.
import type { UserQueue } from './userQueues.js'

export class UserHeap<B> {
  private readonly items: UserQueue<B>[] = []

  constructor(private fair: boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): UserQueue<B> | undefined {
    return this.items[0]
  }

  push(queue: UserQueue<B>): void {
    queue.heapIndex = this.items.length
    this.items.push(queue)
    this.siftUp(queue.heapIndex)
  }

  remove(queue: UserQueue<B>): void {
    const index = queue.heapIndex
    const last = this.items.pop()!
    queue.heapIndex = -1
    if (last === queue) return
    this.items[index] = last
    last.heapIndex = index
    this.siftDown(index)
    this.siftUp(last.heapIndex)
  }

  /** The queue's key grew (its user was charged, or its head request left): it can only move down. */
  raised(queue: UserQueue<B>): void {
    // (Not in the heap while the dispatcher holds it aside: its place is found when it is pushed back.)
    if (queue.heapIndex >= 0) this.siftDown(queue.heapIndex)
  }

  /** Orders by another policy (a reload changed it). */
  reorder(fair: boolean): void {
    this.fair = fair
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  private before(a: UserQueue<B>, b: UserQueue<B>): boolean {
    if (this.fair && a.user.counter !== b.user.counter) return a.user.counter < b.user.counter
    return a.head!.seq < b.head!.seq
  }

  private siftUp(index: number): void {
    const items = this.items
    const queue = items[index]!
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = items[parentIndex]!
      if (!this.before(queue, parent)) break
      items[index] = parent
      parent.heapIndex = index
      index = parentIndex
    }
    items[index] = queue
    queue.heapIndex = index
  }

  private siftDown(index: number): void {
    const items = this.items
    const length = items.length
    const queue = items[index]!
    for (;;) {
      let child = 2 * index + 1
      if (child >= length) break
      const right = child + 1
      if (right < length && this.before(items[right]!, items[child]!)) child = right
      const lower = items[child]!
      if (!this.before(lower, queue)) break
      items[index] = lower
      lower.heapIndex = index
      index = child
    }
    items[index] = queue
    queue.heapIndex = index
  }
}
