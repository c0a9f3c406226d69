-- An aborted run (bad input found half-way) keeps its row and thresholds but has no samples, so
-- every metric reads null; its gates were never evaluated and are not failures. The failed-gates
-- view lists gates of runs that ended `passed` or `failed` only.
create or replace view public.ai_eval_failed_gates_v1
  with (security_invoker = true)
  as
select
  s.run_id,
  g.gate,
  g.metric,
  (r.thresholds ->> g.gate)::numeric as threshold,
  g.value
from public.ai_eval_run_summary_v1 s
join public.ai_eval_runs r on r.id = s.run_id
cross join lateral (
  values
    ('schema_valid_rate_min', 'schema_valid_rate', 'min', s.schema_valid_rate),
    ('patch_apply_success_min', 'patch_apply_success', 'min', s.patch_apply_success),
    ('edit_after_generate_rate_min', 'edit_after_generate_rate', 'min', s.edit_after_generate_rate),
    ('publish_conversion_proxy_min', 'publish_conversion_proxy', 'min', s.publish_conversion_proxy),
    ('safety_html_tailwind_compliance_min', 'safety_html_tailwind_compliance', 'min', s.safety_html_tailwind_compliance),
    ('fallback_rate_max', 'fallback_rate', 'max', s.fallback_rate),
    ('p95_latency_ms_max', 'p95_latency_ms', 'max', s.p95_latency_ms)
) as g(gate, metric, kind, value)
where r.status <> 'aborted'
  and r.thresholds ? g.gate
  and (
    g.value is null
    or (g.kind = 'min' and g.value < (r.thresholds ->> g.gate)::numeric)
    or (g.kind = 'max' and g.value > (r.thresholds ->> g.gate)::numeric)
  );
