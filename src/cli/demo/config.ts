/** The demo pipeline's config (airlock.yaml): the baseline model, the inferred contract, Zendesk (simulated) as the destination. */
export function demoConfig(vendorUrl: string, port: number, goLive: string): string {
  const thirtyDays = new Date(Date.parse(goLive) + 30 * 86_400_000).toISOString().slice(0, 10);
  return `# The inbox-triage demo (written by airlock demo; re-run any printed command from this folder).
database: sqlite:./airlock.db
server: { host: 127.0.0.1, port: ${port} }
logging: { level: warn }
alerts:
  - { type: log }
teams:
  triage: { members: [reviewer, sim-reviewer] }
  leads: { members: [lead] }
pipelines:
  inbox:
    contract: ./contract.json
    gate:
      # New charsets and content types are expected in later mail: they show in the audit and drift, they do not stop
      # the pipeline. A renamed or missing field does.
      policies: { new_enum_value: accept, format_mismatch: accept, out_of_range: accept }
    model: { type: baseline, path: ./model.json, text_fields: [subject, text], version: nb-pilot }
    routing:
      auto_accept_at: 0.95
      audit_rate: 0.05
    launch: { go_live: ${goLive}, expected_peak: 5/s }
    readiness: { thirty_day_review: ${thirtyDays} }
    # Message ids and dates are unique per mail: their tokens drift by construction, so drift leaves them out.
    drift: { exclude: [message_id, date] }
    review:
      case_types:
        low_confidence:
          { owner: triage, backup: leads, sla: 4h, escalation: { levels: [{ after: 4h, notify: [backup] }] } }
        audit_sample:
          { owner: triage, backup: leads, sla: 1d, escalation: { levels: [{ after: 1d, notify: [backup] }] } }
        quarantine:
          { owner: leads, backup: triage, sla: 1d, escalation: { levels: [{ after: 1d, notify: [backup] }] } }
        schema_halt:
          { owner: leads, backup: triage, sla: 1h, escalation: { levels: [{ after: 1h, notify: [backup] }] } }
        dead_letter:
          { owner: leads, backup: triage, sla: 4h, escalation: { levels: [{ after: 4h, notify: [backup] }] } }
        model_failure:
          { owner: leads, backup: triage, sla: 1h, escalation: { levels: [{ after: 1h, notify: [backup] }] } }
    destinations:
      zendesk: { type: zendesk, plan: enterprise, url: "${vendorUrl}/api/v2/tickets.json", concurrency: 8 }
`;
}
