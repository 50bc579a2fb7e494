"""Configuration, pure: settings and where each value came from, endpoints (the only URL
builder), api-versions and parameter rules, the model catalogue, deployment records and their
resolution, route specs, and how secrets enter. Nothing here does I/O beyond reading the config
file and the environment it is handed."""
