// A drained backend in the scheduler: no new request is granted there, whatever frees up; a request only drained
// backends could serve is refused at once (no_backend) instead of waiting out max_wait; undrained, it takes requests
// again, those waiting first. The admin view's per-backend count of who waits is checked along the way.
import t from 'tap'
import { backend, Harness } from '../helpers/schedulerHarness.js'

t.test('a drained backend gets nothing new; undrained, the queue goes there first', async (t) => {
  const a = backend('a', ['m'], 1, ['m'])
  const b = backend('b', ['m'], 1, ['m'])
  const harness = new Harness({ backends: [a, b] })
  a.draining = true
  harness.scheduler.wake()
  const first = harness.admit('u', 'm')
  t.equal(first.grant?.backend, b, 'granted on the backend still in service')
  const second = harness.admit('u', 'm')
  t.equal(second.outcome, 'waiting', 'a free slot on a drained backend is no slot')
  t.equal(harness.scheduler.waitingFor(a), 1, 'the waiting request could go to a (it has the model)')
  t.equal(harness.scheduler.waitingFor(b), 1)
  a.draining = false
  harness.scheduler.wake()
  t.equal(second.grant?.backend, a, 'undrained: the waiting request goes there')
  t.equal(harness.scheduler.waitingFor(a), 0)
})

t.test('requests only drained backends could serve are refused at once', async (t) => {
  const a = backend('a', ['m', 'only-a'], 1)
  const b = backend('b', ['m'], 1)
  const harness = new Harness({ backends: [a, b] })
  const running = harness.admit('u', 'only-a')
  const waiting = harness.admit('u', 'only-a')
  t.equal(running.grant?.backend, a)
  t.equal(waiting.outcome, 'waiting')
  a.draining = true
  harness.scheduler.wake()
  t.equal(waiting.outcome, 'refused', 'nothing will ever serve it while a is drained')
  t.match(waiting.error, { code: 'no_backend', message: /every backend that has model "only-a" is draining/ })
  t.equal(harness.admit('v', 'only-a').error?.code, 'no_backend', 'a new one too')
  t.equal(harness.admit('v', 'unknown').error?.code, 'model_not_found', 'a model nobody has is still 404')
  t.equal(harness.running().length, 1, 'the request in flight keeps its slot')
  harness.release(running)
  t.equal(harness.admit('w', 'm').grant?.backend, b, 'the model both have goes to the one in service')
})
