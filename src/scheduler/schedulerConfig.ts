// The scheduler's settings as the config states them (the `scheduler` section), for start-up and each reload.
import type { Config } from '../config/schema.js'
import type { SchedulerSettings } from './schedulerTypes.js'

export function schedulerSettings(config: Config): SchedulerSettings {
  const { policy, max_queue: maxQueue, max_wait: maxWaitMs } = config.scheduler
  return { policy, maxQueue, maxWaitMs }
}
