"""End-to-end tier: the doctor run unmodified on a simulated internet."""
