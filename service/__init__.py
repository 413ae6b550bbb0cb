"""The FastAPI service: classification API, helpdesk webhooks, persistence and operations."""
