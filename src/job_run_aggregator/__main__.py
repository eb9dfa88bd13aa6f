from job_run_aggregator.cli import app

app(prog_name="job-run-aggregator")
