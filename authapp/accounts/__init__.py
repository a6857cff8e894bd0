"""Accounts, passwords, usernames, sessions, revocation and the audit trail."""
