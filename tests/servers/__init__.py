"""Real servers run as test fixtures (Dovecot IMAP, ...), on 127.0.0.1 and free ports."""
