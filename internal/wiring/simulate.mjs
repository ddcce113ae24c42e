// Evaluates requests as AWS's policy evaluation logic does, with the IAM
// policy simulator @cloud-copilot/iam-simulate (AGPL-3.0: a test tool here,
// never deployed or linked into what ships). It reads a JSON list of requests
// (internal/wiring's Request) on stdin and writes one verdict per request.
//
// The simulator's validated entry point checks actions, resource types and
// policies, and explains its decision; but it drops condition keys that its
// data does not list for the action, among them kms:EncryptionContext:<key>
// and an OIDC provider's aud and sub. When it dropped one, the decision is
// taken again by its unvalidated entry point, which keeps every key.
import { anonymousPrincipal, runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { createValidatedPolicy, validateResourcePolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const verdicts = []
for (const r of requests) {
  const simulation = {
    request: {
      principal: r.principal === 'Anonymous' ? anonymousPrincipal : r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: r.context ?? {}
    },
    identityPolicies: (r.identityPolicies ?? []).map((p) => ({ name: p.name, policy: p.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy?.document,
    additionalSettings: { s3: { blockPublicAccess: !!r.blockPublicAccess } }
  }
  const validated = await runSimulation(simulation, {})
  if (validated.resultType === 'error') {
    verdicts.push({ error: JSON.stringify(validated.errors) })
    continue
  }
  if (validated.resultType !== 'single') {
    verdicts.push({ error: `the simulator expanded ${r.resource} as a pattern: give one resource` })
    continue
  }
  const ignored = validated.result.ignoredContextKeys ?? []
  if (ignored.length === 0) {
    verdicts.push({ decision: validated.overallResult, why: explain(validated.result.analysis, r) })
    continue
  }
  const decide = (resourceStatements) =>
    runUnsafeSimulation(
      {
        ...simulation,
        resourcePolicy: resourceStatements
          ? createValidatedPolicy(
              { Version: '2012-10-17', Statement: resourceStatements },
              r.trust ? validateTrustPolicy : validateResourcePolicy,
              { name: r.resourcePolicy.name }
            )
          : undefined
      },
      {}
    )
  const statements = r.resourcePolicy ? [r.resourcePolicy.document.Statement].flat() : undefined
  verdicts.push({ decision: decide(statements), why: explainByStatements(validated.result.analysis, r, statements, decide) })
}
process.stdout.write(JSON.stringify(verdicts))

// explain says, for the identity policies and the resource policy, which
// statements allowed or denied the request, or which came close and why they
// did not apply.
function explain(analysis, r) {
  const lines = identity(analysis, r)
  if (r.resourcePolicy) lines.push(...describe(analysis.resourceAnalysis, r.resourcePolicy.name, r.resourcePolicy.name, r))
  else lines.push('the resource has no resource policy')
  return lines
}

// explainByStatements explains the resource policy's part when the decision
// needed a key the validated entry point drops: each statement is decided
// alone by the unvalidated one, an Allow on its own, a Deny beside every Allow.
function explainByStatements(analysis, r, statements, decide) {
  const lines = identity(analysis, r)
  if (!statements) return [...lines, 'the resource has no resource policy']
  const allows = statements.filter((s) => s.Effect === 'Allow')
  const decisive = []
  statements.forEach((s, i) => {
    const sid = `statement ${s.Sid ?? i + 1} of ${r.resourcePolicy.name}`
    if (s.Effect === 'Allow' && decide([s]) === 'Allowed') decisive.push(`allowed by ${sid}`)
    if (s.Effect === 'Deny' && decide([...allows, s]) === 'ExplicitlyDenied') decisive.push(`denied by ${sid}`)
  })
  if (decisive.length === 0) decisive.push(`no statement of ${r.resourcePolicy.name} allows ${r.action} with these keys`)
  return [...lines, ...decisive]
}

// identity explains the identity policies' part; a service or an anonymous
// caller has none.
function identity(analysis, r) {
  if ((r.identityPolicies ?? []).length === 0) return []
  return describe(analysis.identityAnalysis, 'the identity policies', undefined, r)
}

function describe(part, kind, policyName, r) {
  const lines = []
  if (!part) return lines
  for (const s of part.denyStatements ?? []) lines.push(`denied by ${name(s, policyName)}`)
  for (const s of part.allowStatements ?? []) lines.push(`allowed by ${name(s, policyName)}`)
  if (lines.length > 0) return lines
  const near = (part.unmatchedStatements ?? []).filter(
    (s) => s.explain?.effect === 'Allow' && s.actionMatch && s.resourceMatch && s.principalMatch !== 'NoMatch'
  )
  if (near.length === 0) lines.push(`no statement of ${kind} allows ${r.action} for this principal and resource`)
  for (const s of near) lines.push(`${name(s, policyName)} does not apply: ${conditions(s.explain, r)}`)
  return lines
}

function name(s, policyName) {
  const sid = s.statement?.Sid ?? s.explain?.identifier
  return `statement ${sid ?? '(unnamed)'} of ${policyName ?? s.policyId ?? 'an identity policy'}`
}

function conditions(explain, r) {
  const failed = (explain?.conditions ?? []).filter((c) => !c.matches)
  if (failed.length === 0) return 'its principal or resource does not match'
  return failed
    .map((c) => {
      const wanted = [c.values].flat().map((v) => v.value)
      const key = c.conditionKeyValue
      const sent = Object.entries(r.context ?? {}).find(([k]) => k.toLowerCase() === key.toLowerCase())
      const had = sent ? JSON.stringify(sent[1]) : 'nothing'
      return `${c.operator} ${key} ${JSON.stringify(wanted)}, and the request has ${had}`
    })
    .join('; ')
}
