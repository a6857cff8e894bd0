"""Tables, column types and the fast statement path."""
