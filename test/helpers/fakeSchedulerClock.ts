// A clock for the emulator's scheduler that moves only when a test says so: loads finish when it is advanced past them.
import type { SchedulerClock } from '../../bench/emulator/scheduler.js'

export interface FakeClock extends SchedulerClock {
  /** Moves time on by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void
}

export function fakeClock(start = 1_800_000_000_000): FakeClock {
  let now = start
  let timers: { at: number; run: () => void }[] = []
  return {
    now: () => now,
    after: (ms, run) => void timers.push({ at: now + ms, run }),
    advance(ms) {
      const until = now + ms
      for (;;) {
        const due = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        timers = timers.filter((timer) => timer !== due)
        now = Math.max(now, due.at)
        due.run()
      }
      now = until
    },
  }
}
