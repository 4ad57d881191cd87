"""One view per page: a pure function (connection, filters, settings) -> a frozen dataclass holding
what the page shows. ``ui.db.view`` caches them on the data's state (in memory, and on disk through
``views.cache``); pages render them."""

from __future__ import annotations

from metrics.development import ClvOptions
from views import data, development, listening, members, overview, participation, plans, posts, retention
from views.common import GrainSettings

VIEWS = {
    "overview": overview.compute,
    "participation": participation.compute,
    "retention": retention.compute,
    "development": development.compute,
    "development_clv": development.compute_clv,
    "plans": plans.compute,
    "listening": listening.compute,
    "posts": posts.compute,
    "members": members.compute,
    "data": data.compute,
}

# What a page asks for before anyone touched its widgets (the warm-up's fallback, views.cache).
DEFAULTS = {
    "overview": overview.OverviewSettings(),
    "participation": GrainSettings(),
    "retention": retention.RetentionSettings(),
    "development": development.DevelopmentSettings(),
    "development_clv": ClvOptions(),
    "plans": plans.PlansSettings(),
    "listening": listening.ListeningSettings(),
    "posts": posts.PostsSettings(),
}
