"""I/O: the only modules that import httpx or a WebSocket library. HTTP and WebSocket
transports, the pooled connections, and the one writer of credential headers (:mod:`.auth`)."""
