"""Application layer: command line, the pipeline orchestrator, the daemon and the demo."""
