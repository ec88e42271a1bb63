"""Channel adapters: each parses and verifies its own wire format and calls inbox intake."""
