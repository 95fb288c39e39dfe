// If-Match as RFC 9110 reads it: absent or empty allows anything, `*` any current object, a list of strong tags one of
// them; a weak or garbled tag matches nothing.
import t from 'tap'
import { etag, ifMatch } from '../../src/api/preconditions.js'

t.test('If-Match', async (t) => {
  t.equal(ifMatch(undefined), undefined)
  t.equal(ifMatch(' '), undefined)
  t.ok(ifMatch('*')!('v1'))
  t.ok(ifMatch(etag('v1'))!('v1'))
  t.notOk(ifMatch(etag('v1'))!('v2'))
  t.ok(ifMatch(`"x", ${etag('v2')}`)!('v2'))
  t.notOk(ifMatch('W/"v1"')!('v1'), 'weak tags never match')
  t.notOk(ifMatch('v1')!('v1'), 'an unquoted tag is not a tag')
})
