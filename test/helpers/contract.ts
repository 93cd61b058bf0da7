// The sample catalog the tests report: the exported contract suite's own
// models (lib/testing), so every test speaks of the same models.
import { models } from '../../lib/testing/model-list-fixture'

export const catalog = models
