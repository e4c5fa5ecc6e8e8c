"""The core every audience shares: settings, the database and its embedded cluster, errors, security headers, the served front-end packages and health checks."""
