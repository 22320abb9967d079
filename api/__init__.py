"""The FastAPI app, web UI, service wiring and the vigil CLI."""
