"""Bringing up one instance: secrets, rendered Asterisk config, prompts, Asterisk and PostgreSQL."""
