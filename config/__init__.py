"""Settings (CONTRACT.md's TOML file), validated at start-up."""
from config.settings import (
    LimitSettings,
    MatchingSettings,
    RenewalSettings,
    Settings,
    SmtpSettings,
    SourceSettings,
    embedded_defaults,
    load_settings,
    parse_settings,
)

__all__ = [
    "LimitSettings", "MatchingSettings", "RenewalSettings", "Settings", "SmtpSettings",
    "SourceSettings", "embedded_defaults", "load_settings", "parse_settings",
]
