// The idle runtime cache's canary starts once: a second start, or one after
// close, publishes nothing more (which of them a store reaches first depends
// on timing in the Redis tests, so it is pinned here).
import t from 'tap'
import { Canary } from '../lib/store/redis/canary'
import type { RedisClient } from '../lib/store/redis/client'

t.test('start publishes once and arms one timer; again, or after close, nothing', async t => {
  const sent: string[] = []
  const publisher = {
    publish: async (channel: string, message: string) => { sent.push(`${channel} ${message}`) },
    on () {},
    disconnect () {}
  }
  const redis = { duplicate: () => publisher } as unknown as RedisClient
  const canary = new Canary({ redis, channel: 'canary', proven () {}, failed () {} })
  canary.start()
  t.ok(canary.started)
  const once = sent.length
  t.ok(once > 0, 'the first start publishes')
  canary.start()
  t.equal(sent.length, once, 'a second start publishes nothing more')
  canary.close()
  canary.start()
  t.equal(sent.length, once, 'nor a start after close')
})
