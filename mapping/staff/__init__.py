"""For editors and administrators: signing in, editing and hiding places, uploads, residents' reports, users, API tokens and the audit trail."""
