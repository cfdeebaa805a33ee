"""Outgoing mail: Italian templates, the transactional outbox, and the transports (SMTP, or
.eml files in a folder)."""
