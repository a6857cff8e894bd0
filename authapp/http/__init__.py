"""Request and response plumbing: problems, headers, cross-site, body limit, client, rate limits."""
