import { Type, type Static } from '@sinclair/typebox'

// Bounds keep a hostile report from making the store hold megabytes.
export const limits = {
  models: 1_000,
  levels: 32,
  serviceTiers: 32,
  shortText: 256,
  description: 1_024,
  error: 4_096,
  reportBytes: 1_048_576
} as const

// Ids travel in Redis key names and URLs: keep them to a URL-safe alphabet.
export const idPattern = '^[A-Za-z0-9_-]{1,100}$'
const Short = Type.String({ maxLength: limits.shortText })
const Description = Type.String({ maxLength: limits.description })

// Each wire shape carries its name as $id: documentation tools (@fastify/swagger)
// lift them into shared component schemas instead of writing them out per route.
export const ThinkingLevel = Type.Object({
  value: Short,
  label: Short,
  description: Type.Optional(Description)
}, { $id: 'ThinkingLevel' })
export type ThinkingLevel = Static<typeof ThinkingLevel>

export const ModelThinking = Type.Object({
  supported_levels: Type.Array(ThinkingLevel, { maxItems: limits.levels }),
  default_level: Type.Optional(Short)
}, { $id: 'ModelThinking' })
export type ModelThinking = Static<typeof ModelThinking>

export const ModelServiceTier = Type.Object({
  id: Short,
  name: Short,
  description: Type.Optional(Description)
}, { $id: 'ModelServiceTier' })
export type ModelServiceTier = Static<typeof ModelServiceTier>

export const ModelEntry = Type.Object({
  id: Short,
  label: Short,
  provider: Type.Optional(Short),
  default: Type.Optional(Type.Boolean()),
  thinking: Type.Optional(ModelThinking),
  service_tiers: Type.Optional(Type.Array(ModelServiceTier, { maxItems: limits.serviceTiers }))
}, { $id: 'ModelEntry' })
export type ModelEntry = Static<typeof ModelEntry>

export const ModelListStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('timeout')
], { $id: 'ModelListStatus' })
export type ModelListStatus = Static<typeof ModelListStatus>

export const ModelListRequest = Type.Object({
  id: Type.String(),
  runtime_id: Type.String(),
  status: ModelListStatus,
  models: Type.Optional(Type.Array(ModelEntry)),
  supported: Type.Boolean(),
  error: Type.Optional(Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
  cached: Type.Optional(Type.Boolean()),
  cached_at: Type.Optional(Type.String())
}, { $id: 'ModelListRequest' })
export type ModelListRequest = Static<typeof ModelListRequest>

// `error` has no maxLength on purpose: a longer one is truncated, not refused,
// because a daemon never retries a 4xx and the failure would be lost.
export const ModelListReport = Type.Object({
  status: Type.Union([Type.Literal('completed'), Type.Literal('failed')]),
  models: Type.Optional(Type.Array(ModelEntry, { maxItems: limits.models })),
  supported: Type.Optional(Type.Boolean()),
  error: Type.Optional(Type.String()),
  fallback: Type.Optional(Type.Boolean())
}, { $id: 'ModelListReport' })
export type ModelListReport = Static<typeof ModelListReport>

export const PendingModelList = Type.Object({
  id: Type.String()
}, { $id: 'PendingModelList' })
export type PendingModelList = Static<typeof PendingModelList>
