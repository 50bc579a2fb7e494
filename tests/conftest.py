"""Suite-wide settings: property-based tests are deterministic (the same examples every run, no
example database) and not timed, so a loaded CI machine cannot fail them."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "azoai",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("azoai")
