"""syntask-doctor: find out why a Syntask client cannot reach its API, and say how to fix it."""

__version__ = "0.1.0"
