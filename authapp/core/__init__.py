"""Application plumbing: extensions, configuration, doctor, logging, clock."""
