"""Second factors (SPEC §10): TOTP, recovery codes, and the sign-in step that asks for one."""
