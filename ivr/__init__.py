"""The voice menu: menu model and runner, prompts, Mandarin reading of numbers, self-service."""
