"""What the site runs beside its pages: the background page's jobs (background_jobs: run, record, watch),
the /benchmark page's job (bench_job: queue, limits, the run, the reports kept), its signed pass
(bench_pass) and the read-only probe the harness reads counters through (bench_probe). Pages and
components call it; it imports no page and no component."""
