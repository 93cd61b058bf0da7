/** Counts the commands a client (Redis or Cluster) sends from here on: its round trips. */
export function countCommands (client: { sendCommand: (...args: any[]) => unknown }): () => number {
  let sent = 0
  const send = client.sendCommand.bind(client)
  client.sendCommand = (...args: any[]) => {
    sent++
    return send(...args)
  }
  return () => sent
}
