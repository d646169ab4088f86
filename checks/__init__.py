"""Built-in check families; each module registers its checks on import."""
