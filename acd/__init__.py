"""Automatic call distribution: agents, skills, queues and the router (pure domain core)."""
