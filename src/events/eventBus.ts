// The event bus: emit is synchronous and cheap — it stamps the event and hands it to each subscriber, which must
// only queue it (the webhook outbox writes its queue on the next tick). Created in server composition and passed to
// the rooms that emit; there is no global instance.
import { randomUUID } from 'node:crypto'
import type { EventPayloads, EventType, GatewayEvent } from './events.js'

export type EventSubscriber = (event: GatewayEvent) => void

export type Emit = <T extends EventType>(type: T, data: EventPayloads[T]) => void

export class EventBus {
  private readonly subscribers: EventSubscriber[] = []

  constructor(private readonly now: () => number = Date.now) {}

  subscribe(subscriber: EventSubscriber): void {
    this.subscribers.push(subscriber)
  }

  readonly emit: Emit = (type, data) => {
    this.publish({ id: `evt_${randomUUID()}`, type, time: this.now(), data })
  }

  /** An event made elsewhere (the change feed's, with its own id and time). */
  publish(event: GatewayEvent): void {
    for (const subscriber of this.subscribers) subscriber(event)
  }
}
