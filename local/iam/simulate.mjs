// The local AWS's policy evaluation: one JSON request per line on standard
// input, one JSON answer per line on standard output. The evaluation itself is
// @cloud-copilot/iam-simulate (explicit deny, then allow, else implicit deny;
// identity policies, permissions boundaries and SCPs, every condition
// operator); this file only maps its analysis to the fields
// SimulatePrincipalPolicy answers with (IAM API Reference, EvaluationResult).
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { createInterface } from 'node:readline'

const DECISION = { Allowed: 'allowed', ExplicitlyDenied: 'explicitDeny', ImplicitlyDenied: 'implicitDeny' }

// The condition keys of the statements that apply to this action and
// resource: AWS's MissingContextValues are those the request did not supply.
function conditionKeys(analyses) {
  const keys = new Set()
  for (const analysis of analyses) {
    if (!analysis) continue
    for (const list of [analysis.allowStatements, analysis.denyStatements, analysis.unmatchedStatements]) {
      for (const s of list ?? []) {
        if (!s.actionMatch || !s.resourceMatch) continue
        for (const operator of Object.values(s.statement.toJSON().Condition ?? {})) {
          for (const key of Object.keys(operator)) keys.add(key)
        }
      }
    }
  }
  return keys
}

const decisive = (analysis) =>
  analysis ? [...(analysis.denyStatements.length ? analysis.denyStatements : analysis.allowStatements)] : []

async function evaluate(request) {
  const response = await runSimulation({
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context,
    },
    identityPolicies: request.identity,
    permissionBoundaryPolicies: request.boundary ?? undefined,
    serviceControlPolicies: request.scps,
    resourceControlPolicies: [],
  }, {})
  if (response.resultType === 'error') return { error: JSON.stringify(response.errors) }
  const analysis = response.result.analysis
  const supplied = new Set(Object.keys(request.context).map((k) => k.toLowerCase()))
  const missing = [...conditionKeys([analysis.identityAnalysis, analysis.permissionBoundaryAnalysis])]
    .filter((key) => !supplied.has(key.toLowerCase()))
  const identity = analysis.identityAnalysis
  const denyingScp = analysis.scpAnalysis?.result && analysis.scpAnalysis.result !== 'Allowed'
  const matched = identity?.denyStatements?.length || !denyingScp ? decisive(identity) : []
  return {
    decision: DECISION[response.overallResult],
    matched: matched.map((s) => s.policyId),
    missing,
    boundaryAllowed: analysis.permissionBoundaryAnalysis ? analysis.permissionBoundaryAnalysis.result === 'Allowed' : null,
    organizationsAllowed: request.scps.length ? analysis.scpAnalysis?.result === 'Allowed' : null,
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  let answer
  try {
    answer = await evaluate(JSON.parse(line))
  } catch (e) {
    answer = { error: String(e?.stack ?? e) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
