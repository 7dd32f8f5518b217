"""Identity and access: who is asking (users, passwords, sessions, API tokens) and what they may do."""
