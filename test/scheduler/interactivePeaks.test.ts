// The interactive peak a low-priority ask must leave room for survives a change of window: found by the idle-slot
// property (seed 1190284913), where a peak moved aside by the first ask with a shorter window was dropped 40 ms later.
import t from 'tap'
import { InteractivePeaks } from '../../src/scheduler/interactivePeaks.js'

t.test('a peak seen before the window changes is kept through the next window of the new length', async (t) => {
  const peaks = new InteractivePeaks()
  peaks.started('m', 523)
  peaks.ended('m')
  peaks.setWindow(1000, 960)
  t.equal(peaks.reserve('m', 960), 1)
  t.equal(peaks.reserve('m', 1000), 1, 'the window boundary right after the change does not drop it')
  t.equal(peaks.reserve('m', 1999), 1)
  t.equal(peaks.reserve('m', 2000), 0, 'forgotten two windows later')
})

t.test('without a window there is no reserve; running requests are not reserved twice', async (t) => {
  const peaks = new InteractivePeaks()
  peaks.started('m', 0)
  peaks.started('m', 0)
  t.equal(peaks.reserve('m', 1), 0, 'both peak slots are running: nothing more to keep free')
  peaks.ended('m')
  t.equal(peaks.reserve('m', 2), 1)
  peaks.setWindow(0, 3)
  t.equal(peaks.reserve('m', 3), 0)
})
