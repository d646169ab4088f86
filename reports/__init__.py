"""Output formats: each module turns a finished report into text and does nothing else."""
