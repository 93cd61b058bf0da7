import type { FastifyInstance } from 'fastify'
import type { Face } from '../kinds/face'
import { schemaSerializerCompiler, strictValidatorCompiler } from './validator'
import { kindRoutes, type KindRouteOptions } from './kind-routes'

export interface RoutesOptions extends KindRouteOptions {
  /** Every kind's face: the model list first. */
  faces: readonly Face[]
}

/** Every kind's routes, one generator for all. */
export async function routes (app: FastifyInstance, options: RoutesOptions): Promise<void> {
  // Ours whatever the host set (a zod or TypeBox provider, its own Ajv): the
  // routes validate strictly and answer from the TypeBox schemas. Parsers,
  // hooks and the error handler stay the host's.
  app.setValidatorCompiler(strictValidatorCompiler)
  app.setSerializerCompiler(schemaSerializerCompiler)
  for (const face of options.faces) await kindRoutes(app, options, face)
}
