"""The request pipeline: retry policy, quota pacing and routing across targets, driven by the
client over the transports in :mod:`azoai.io`."""
