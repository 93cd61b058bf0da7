// The whole flow through `inject`, as a consumer of the installed package runs it.
export async function flow (app, runtimeId = 'rt-consumer') {
  const created = (await app.inject({ method: 'POST', url: `/api/runtimes/${runtimeId}/models` })).json()
  const pending = await app.claimPendingModelList(runtimeId)
  const report = await app.inject({
    method: 'POST',
    url: `/api/daemon/runtimes/${runtimeId}/models/${pending.id}/result`,
    payload: { status: 'completed', models: [{ id: 'm1', label: 'Model one' }] }
  })
  const done = (await app.inject({ method: 'GET', url: `/api/runtimes/${runtimeId}/models/${created.id}` })).json()
  return { created: created.status, claimed: pending.id === created.id, report: report.statusCode, status: done.status, models: done.models }
}
