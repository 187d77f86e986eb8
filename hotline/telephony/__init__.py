"""Adapters to Asterisk: ARI (REST + events websocket) and AMI."""
