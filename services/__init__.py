"""NATS workers that run extractors, the bus topology, and the process supervisor."""
