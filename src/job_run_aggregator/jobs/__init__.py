"""Jobs: job name → variant (pure), job-name lists, priming the Jobs table."""
