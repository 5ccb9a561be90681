"""safexp tasks: Goal (and the Safety Gym suite levels built on it)."""
