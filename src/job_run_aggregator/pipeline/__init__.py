"""Pipeline: the steps both the CLI and the scheduler run, the scheduler, the demo and sample data."""
