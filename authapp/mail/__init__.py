"""Mail that loses nothing: an outbox table, a delivery worker in every app process, backends."""
