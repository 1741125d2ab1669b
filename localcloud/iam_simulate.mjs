// The local cloud's IAM evaluator: @cloud-copilot/iam-simulate (AGPL-3.0, a dev tool run from
// the emulator only, never shipped) behind a line protocol. One JSON request per line on stdin:
//   {"id", "principal", "action", "resource", "accountId", "context", "identityPolicies",
//    "resourcePolicy"}
// One JSON answer per line on stdout: {"id", "decision", "errors"}; decision is "Allowed",
// "ExplicitlyDenied", "ImplicitlyDenied" or "Error" (the request or a policy is invalid).
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let answer
  try {
    const request = JSON.parse(line)
    const simulation = {
      identityPolicies: request.identityPolicies.map((policy, i) => ({ name: `policy${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy ?? undefined,
      request: {
        principal: request.principal,
        action: request.action,
        resource: { accountId: request.accountId, resource: request.resource },
        contextVariables: request.context ?? {}
      }
    }
    const result = await runSimulation(simulation, {})
    answer =
      result.resultType === 'error'
        ? { id: request.id, decision: 'Error', errors: result.errors }
        : { id: request.id, decision: result.overallResult, errors: null }
  } catch (error) {
    answer = { id: null, decision: 'Error', errors: { message: String(error) } }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
