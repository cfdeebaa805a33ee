"""Intake: sources of messages, MIME parsing, text extraction and field extraction."""
