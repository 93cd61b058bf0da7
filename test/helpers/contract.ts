// The sample catalog the tests report: the exported contract suite's own
// models (lib/testing), so every test speaks of the same models.
import { models } from '../../lib/testing/model-list-fixture'

export const catalog = models

/** A catalog larger than a settled signal carries (lib/store/redis/keys.ts carriedBytes): its polls read it. */
export const largeCatalog = Array.from({ length: 200 }, (_, i) => ({ id: `model-${i}`, label: `Model ${i} `.padEnd(120, '.'), provider: 'ollama' }))
