"""The policy-checked query gateway: analyse, decide, rewrite, execute, guard, record."""
