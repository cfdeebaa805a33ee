"""The effects of a match decision, carried out in the caller's transaction."""
